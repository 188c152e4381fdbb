// cuda_embedding.h — the token embedding table of llm-gptq on the GPU: a
// dense f32/f16/bf16 table as stored, or a GGUF token_embd in a ggml block
// format kept in that format (GgmlLinearCuda's padded rows) and dequantized
// row by row at lookup (runtime::cuda::ggml_embedding_lookup); a table tied
// to the lm_head reads the lm_head's device blocks instead of a second copy.
// Built and run by the CUDA forward pass (cuda_forward.cpp). CUDA builds only.
#pragma once

#include "weights.h"

#include "runtime/core/dtype.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/ggml_linear_cuda.h"

#include <cstdint>
#include <memory>

namespace citadel::llm {

class DeviceEmbedding {
 public:
  DeviceEmbedding() = default;
  // Uploads weights.embedding, or weights.embedding_ggml when set (blocking).
  // `lm_head`: the lm_head's block-format layer (or null); when it holds the
  // same GGUF tensor in the same row order, its device blocks are read and
  // nothing is uploaded (it must outlive this object).
  explicit DeviceEmbedding(const ModelWeights& weights, const runtime::cuda::GgmlLinearCuda* lm_head = nullptr);

  // out[t, :] = row ids[t] as f32 (ids on the device, checked by the caller).
  void lookup(const int32_t* ids, int64_t count, float* out, void* stream) const;
  // Bytes this table holds on the device (0 when it reads the lm_head's).
  uint64_t device_bytes() const;

 private:
  runtime::cuda::DeviceBuffer dense_;
  runtime::DType dtype_ = runtime::DType::f16;
  int64_t vocab_ = 0, dim_ = 0;
  std::unique_ptr<runtime::cuda::GgmlLinearCuda> blocks_;  // GGUF block formats
  const runtime::cuda::GgmlLinearCuda* shared_ = nullptr;   // the tied lm_head's blocks
};

}  // namespace citadel::llm
