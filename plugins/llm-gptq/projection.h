// projection.h — one linear layer of the model (q/k/v/o, gate/up/down,
// lm_head): y = x W^T + b with W either GPTQ-packed (runtime::GptqLinear),
// dense f16/bf16/f32 (runtime::matmul) or a ggml-typed GGUF tensor used as
// stored (runtime::ggml_matmul). Owns (or keeps alive) the tensors it
// reads. Built by weights.cpp and the benchmark; run by forward.cpp.
#pragma once

#include "runtime/core/tensor.h"
#include "runtime/core/thread_pool.h"
#include "runtime/kernels/ggml_blocks.h"
#include "runtime/kernels/gptq.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::llm {

class Projection {
 public:
  Projection() = default;  // empty until assigned from dense() or gptq()
  // Dense weight [out, in] (f32, f16 or bf16). bias: empty or f32 [out].
  static Projection dense(std::string name, runtime::Tensor weight, runtime::Tensor bias = {});
  // GPTQ layer. qweight/qzeros/g_idx are i32 tensors, scales f16; they are
  // kept alive by the projection. g_idx may be empty. bias: empty or f32 [out].
  static Projection gptq(std::string name, const runtime::GptqTensors& layout,
                         runtime::Tensor qweight, runtime::Tensor qzeros, runtime::Tensor scales,
                         runtime::Tensor g_idx, runtime::Tensor bias = {});

  // A GGUF tensor [out, in] in any ggml type, read in place; `keep_alive`
  // holds its mapping. row_order: empty, or per output row the stored row it
  // reads (llama.cpp's Q/K permutation undone). bias: empty or f32 [out].
  static Projection ggml(std::string name, runtime::GgmlMatrix weight, std::shared_ptr<const void> keep_alive,
                         runtime::Tensor bias = {}, std::vector<int32_t> row_order = {});

  // y[rows, out] = x[rows, in] W^T (+ bias).
  void forward(runtime::ThreadPool& pool, const float* x, int64_t rows, float* y) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  bool quantized() const { return gptq_ != nullptr || ggml_.has_value(); }
  // Bytes of weight data one forward reads from the checkpoint's tensors.
  uint64_t weight_bytes() const { return weight_bytes_; }
  const std::string& name() const { return name_; }
  // What the CUDA path (cuda_forward.cpp) uploads: the dense weight (empty
  // when quantized), the GPTQ tensors (nullptr when dense) and the bias.
  const runtime::Tensor& dense_weight() const { return weight_; }
  const runtime::GptqTensors* gptq_tensors() const { return gptq_ ? &gptq_tensors_ : nullptr; }
  const runtime::Tensor& bias() const { return bias_; }
  // The GGUF weight (nullptr otherwise); the CUDA path does not run these yet.
  const runtime::GgmlMatrix* ggml_weight() const { return ggml_ ? &*ggml_ : nullptr; }

 private:
  std::string name_;
  int64_t in_ = 0, out_ = 0;
  uint64_t weight_bytes_ = 0;
  runtime::Tensor weight_;   // dense
  runtime::Tensor qweight_, qzeros_, scales_, g_idx_;  // GPTQ (kept alive)
  std::shared_ptr<const runtime::GptqLinear> gptq_;
  runtime::GptqTensors gptq_tensors_;  // pointers into the tensors above
  runtime::Tensor bias_;  // f32 or empty
  std::optional<runtime::GgmlMatrix> ggml_;  // GGUF weight
  std::shared_ptr<const void> keep_alive_;   // its mapping
  std::vector<int32_t> row_order_;           // empty: stored order
};

}  // namespace citadel::llm
