// GgmlLinearCuda: one linear layer whose weight is a ggml-typed GGUF tensor
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K), resident on the GPU in
// its stored block format: the device copy is the file's bytes, rows padded
// to 16 bytes (GgmlDeviceMatrix), optionally in another row order (llama.cpp's
// permuted Q/K rows put back in Hugging Face order); nothing is re-quantized.
// forward(): up to kGemvMaxRows tokens run ggml_gemv (dequantization in
// registers, f32 accumulation); more tokens dequantize tiles of rows to f16
// in the CublasContext's weight scratch (ggml_rows.h) and multiply them with
// cuBLAS on the tensor cores (activations rounded to f16, f32 accumulation),
// as the GPTQ layers do for large batches. The switch is at 4 tokens: on an
// H200 at the Llama-3-8B MLP shapes the GEMV takes 21-51 us at 1 token,
// 44-131 us at 4 and 280-450 us at 16, the f16 tiles + cuBLAS 113-138 us
// at any batch up to 128 (bench/ggml_cuda, bench/README.md).
// F16/BF16/F32 tensors do not come here (llm-gptq keeps them on cuBLAS).
// Used by llm-gptq's CUDA path, the [cuda] tests and bench/cuda_kernels.
#pragma once

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/ggml_device_matrix.h"
#include "runtime/cuda/linear_epilogue.h"
#include "runtime/kernels/ggml_blocks.h"

#include <string>

namespace citadel::runtime::cuda {

class GgmlLinearCuda {
 public:
  static constexpr int64_t kGemvMaxRows = 4;
  // f16 elements of one dequantized tile (32 MiB of scratch).
  static constexpr int64_t kTileElements = int64_t{16} << 20;

  // Uploads `weight` (host bytes, e.g. a mapped GGUF file). row_order: null,
  // or weight.rows entries, device row r = stored row row_order[r]; bias:
  // null or f32 [weight.rows] (already in device row order). Throws
  // RuntimeError naming `name` for an unsupported type or a shape that is
  // not whole blocks.
  GgmlLinearCuda(const GgmlMatrix& weight, const std::string& name, const int32_t* row_order = nullptr,
                 const float* bias = nullptr);

  // x[rows, in] · Wᵀ (+ bias) through `epilogue` (device pointers).
  void forward(CublasContext& cublas, const float* x, int64_t rows, const LinearEpilogue& epilogue,
               void* stream) const;

  const GgmlDeviceMatrix& matrix() const { return matrix_; }
  int64_t in_features() const { return matrix_.cols; }
  int64_t out_features() const { return matrix_.rows; }
  // Device bytes held: the blocks (with row padding) and the bias.
  uint64_t device_bytes() const { return blocks_.size() + bias_.size(); }

 private:
  void forward_tensor_cores(CublasContext& cublas, const float* x, int64_t rows, float* y, void* stream) const;

  std::string name_;
  DeviceBuffer blocks_;
  DeviceBuffer bias_;
  GgmlDeviceMatrix matrix_;
};

}  // namespace citadel::runtime::cuda
