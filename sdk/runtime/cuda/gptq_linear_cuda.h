// GptqLinearCuda: one GPTQ linear layer resident on the GPU, built from the
// same host GptqTensors as the CPU GptqLinear (validated, errors name the
// layer; a trivial g_idx is dropped). forward() runs the int4 GEMV for few
// rows and dequantize-to-f16 + cuBLAS for more. Used by llm-gptq's CUDA path,
// the [cuda] tests and bench/cuda_kernels.
#pragma once

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/gptq_kernels.h"
#include "runtime/kernels/gptq.h"

#include <string>

namespace citadel::runtime::cuda {

class GptqLinearCuda {
 public:
  // Rows up to which forward() uses the GEMV kernel (8 rows per pass);
  // above, the layer is dequantized to f16 scratch and multiplied by cuBLAS.
  // Measured on the H200 (bench_cuda_kernels): at 16 rows the GEMV is faster
  // for every TinyLlama/Llama-3-8B shape, at 64 the cuBLAS path is.
  static constexpr int64_t kGemvMaxRows = 16;

  GptqLinearCuda(const GptqTensors& tensors, std::string name);

  // y[m, out] = x[m, in] · dequant(W) (+ bias); device pointers (f32).
  void forward(CublasContext& context, const float* x, int64_t m, float* y, const float* bias,
               void* stream) const;

  const GptqDeviceWeights& device_weights() const { return weights_; }
  const std::string& name() const { return name_; }
  // Bytes of the packed weight, zeros, scales and g_idx on the device.
  size_t device_bytes() const;

 private:
  std::string name_;
  DeviceBuffer qweight_, qzeros_, scales_, g_idx_;
  GptqDeviceWeights weights_;
};

}  // namespace citadel::runtime::cuda
