// cuda_forward.h — the CUDA forward pass of llm-gptq, the GPU twin of
// ForwardPass (forward.h): same SequenceChunk input, except that the chunks'
// block addresses are device pointers (the host's CUDA cache pool, or
// cudaMalloc'd blocks in the tests). Weights are uploaded once at
// construction; run() queues one step on the stream and returns the logits on
// the host. Used by LlmModel on CUDA devices, tests/llm_cuda and
// bench/llm_decode --cuda. Only compiled when CITADEL_HAVE_CUDA.
#pragma once

#include "forward.h"
#include "hf_config.h"
#include "kv_layout.h"
#include "weights.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gptq_linear_cuda.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace citadel::llm {

// One projection resident on the GPU: GPTQ (GptqLinearCuda) or dense f16.
class DeviceProjection {
 public:
  DeviceProjection() = default;
  explicit DeviceProjection(const Projection& projection);
  // y[rows, out] = x[rows, in] W^T (+ bias); device pointers.
  void forward(runtime::cuda::CublasContext& cublas, const float* x, int64_t rows, float* y, void* stream) const;
  int64_t out_features() const { return out_; }
  uint64_t device_bytes() const;

 private:
  int64_t in_ = 0, out_ = 0;
  std::unique_ptr<runtime::cuda::GptqLinearCuda> gptq_;
  runtime::cuda::DeviceBuffer weight_;  // f16 [out, in] when dense
  runtime::cuda::DeviceBuffer bias_;    // f32 [out] or empty
};

// Makes `ordinal` the calling thread's current CUDA device (cudaSetDevice).
void use_cuda_device(int ordinal);

class CudaForwardPass {
 public:
  // Uploads the weights (blocking). `stream` is the cudaStream_t every step
  // runs on (null: the legacy default stream).
  CudaForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv, void* stream);
  ~CudaForwardPass();
  CudaForwardPass(const CudaForwardPass&) = delete;
  CudaForwardPass& operator=(const CudaForwardPass&) = delete;

  // As ForwardPass::run (same checks and errors): logits [chunks with
  // want_logits, vocab] on the host; the stream is synchronized on return.
  std::vector<float> run(std::span<const SequenceChunk> chunks);

  const KvGeometry& kv_geometry() const { return kv_; }
  // Bytes of weights held on the device.
  uint64_t device_weight_bytes() const;

 private:
  struct Layer {
    runtime::cuda::DeviceBuffer input_norm, post_attention_norm, q_norm, k_norm;
    DeviceProjection q, k, v, o, gate, up, down;
  };
  // Grow-only scratch sized for `rows` tokens and `wanted` logits rows.
  void reserve(size_t rows, size_t wanted, size_t table_entries);
  void layer_forward(size_t layer, int64_t rows, int64_t max_blocks);

  const HfModelConfig& config_;
  KvGeometry kv_;
  void* stream_ = nullptr;
  runtime::cuda::CublasContext cublas_;
  runtime::cuda::DeviceBuffer embedding_, final_norm_, inv_freq_;
  runtime::DType embedding_dtype_ = runtime::DType::f16;
  int64_t rotary_half_ = 0;
  DeviceProjection lm_head_;
  std::vector<Layer> layers_;

  // Per-step tables, packed into one upload: token ids, positions, rows of
  // the logits, per-token K/V write addresses, per-row block tables, lengths.
  std::vector<std::byte> staging_;
  runtime::cuda::DeviceBuffer step_tables_;
  size_t ids_at_ = 0, positions_at_ = 0, wanted_at_ = 0, slots_at_ = 0, tables_at_ = 0, lengths_at_ = 0;
  size_t rows_capacity_ = 0, wanted_capacity_ = 0;
  runtime::cuda::DeviceBuffer hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_, last_rows_, logits_;
};

}  // namespace citadel::llm
