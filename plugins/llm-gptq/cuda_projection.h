// cuda_projection.h — one linear layer of llm-gptq resident on the GPU
// (GptqLinearCuda, GgmlLinearCuda for GGUF block formats as stored, or a
// dense f16 weight through cuBLAS), optionally several
// GPTQ projections fused into one (q/k/v, gate/up), with the result handed
// to a LinearEpilogue (segmented store, residual add, SiLU·mul). Built and
// run by the CUDA forward pass (cuda_forward.cpp). CUDA builds only.
#pragma once

#include "projection.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/ggml_linear_cuda.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace citadel::llm {

class DeviceProjection {
 public:
  DeviceProjection() = default;
  explicit DeviceProjection(const Projection& projection);
  // The GPTQ projections `parts` fused into one (their columns concatenated,
  // or gate/up interleaved for silu_mul); null when they cannot be fused
  // (dense, 8-bit, different g_idx or group size, ...).
  static std::unique_ptr<DeviceProjection> fused(std::span<const Projection* const> parts,
                                                 runtime::cuda::GptqLinearCuda::Fusion fusion, const std::string& name);

  // x[rows, in] · W^T (+ bias) through `epilogue`; device pointers. A
  // non-trivial epilogue on the dense path goes through result scratch.
  void forward(runtime::cuda::CublasContext& cublas, const float* x, int64_t rows,
               const runtime::cuda::LinearEpilogue& epilogue, void* stream) const;
  // forward() on rms_norm(x) with `norm_weight` and `eps`, the norm fused
  // into the GPTQ kernel's input when that kernel can (GptqLinearCuda::
  // forward_normed); false, nothing done, when it cannot.
  bool forward_normed(const float* x, int64_t rows, const float* norm_weight, float eps,
                      const runtime::cuda::LinearEpilogue& epilogue, void* stream) const;
  // y[rows, out] = x[rows, in] W^T (+ bias).
  void forward(runtime::cuda::CublasContext& cublas, const float* x, int64_t rows, float* y, void* stream) const;
  int64_t out_features() const { return out_; }
  bool defined() const { return out_ > 0; }
  uint64_t device_bytes() const;
  // The GGUF block-format layer, or null (GPTQ, dense, fused).
  const runtime::cuda::GgmlLinearCuda* ggml_layer() const { return ggml_.get(); }

 private:
  int64_t in_ = 0, out_ = 0;
  std::unique_ptr<runtime::cuda::GptqLinearCuda> gptq_;
  std::unique_ptr<runtime::cuda::GgmlLinearCuda> ggml_;  // GGUF block formats
  runtime::cuda::DeviceBuffer weight_;  // f16 [out, in] when dense
  runtime::cuda::DeviceBuffer bias_;    // f32 [out] or empty (dense only)
};

}  // namespace citadel::llm
