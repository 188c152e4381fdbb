// GgmlLinearCuda: upload with padded rows, GEMV for decode, dequantized
// tiles + cuBLAS for prefill, epilogues as GptqLinearCuda applies them.
#include "runtime/cuda/ggml_linear_cuda.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/ggml_gemv.h"
#include "runtime/cuda/ggml_rows.h"
#include "runtime/cuda/layer_kernels.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace citadel::runtime::cuda {

GgmlLinearCuda::GgmlLinearCuda(const GgmlMatrix& weight, const std::string& name, const int32_t* row_order,
                               const float* bias)
    : name_(name) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(weight.type));
  if (!ggml_cuda_supported(weight.type)) {
    fail_unsupported(name + ": ggml type " + (traits.name != nullptr ? traits.name : "id " +
                     std::to_string(static_cast<uint32_t>(weight.type))) +
                     " has no CUDA block kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K do)");
  }
  if (weight.rows <= 0 || weight.cols <= 0 || weight.cols % traits.block_size != 0 || weight.data == nullptr) {
    fail_invalid(name + ": a " + traits.name + " weight of " + std::to_string(weight.rows) + " rows of " +
                 std::to_string(weight.cols) + " values is not whole blocks of " + std::to_string(traits.block_size));
  }
  const int64_t row_bytes = ggml_device_row_bytes(weight.type, weight.cols);
  const int64_t pitch = ggml_device_pitch(weight.type, weight.cols);
  std::vector<uint8_t> host(static_cast<size_t>(weight.rows * pitch), 0);
  for (int64_t r = 0; r < weight.rows; ++r) {
    const int64_t stored = row_order != nullptr ? row_order[r] : r;
    if (stored < 0 || stored >= weight.rows) fail_invalid(name + ": row order entry " + std::to_string(stored) + " is outside the weight");
    std::memcpy(host.data() + r * pitch, weight.data + stored * row_bytes, static_cast<size_t>(row_bytes));
  }
  blocks_ = DeviceBuffer::from_vector(host, name.c_str());
  if (bias != nullptr) {
    bias_ = DeviceBuffer::from_host(bias, static_cast<size_t>(weight.rows) * sizeof(float), (name + ".bias").c_str());
  }
  matrix_ = GgmlDeviceMatrix{weight.type, weight.rows, weight.cols, pitch, blocks_.as<uint8_t>()};
}

void GgmlLinearCuda::forward_tensor_cores(CublasContext& cublas, const float* x, int64_t rows, float* y,
                                          void* stream) const {
  const int64_t in = matrix_.cols, out = matrix_.rows;
  if (rows > 2147483647 || in > 2147483647 || out > 2147483647) {
    fail_invalid(name_ + ": shape out of range for cuBLAS (rows " + std::to_string(rows) + ")");
  }
  uint16_t* x_half = cublas.activation_scratch(static_cast<size_t>(rows * in));
  const int64_t tile_rows = std::min(out, std::max<int64_t>(64, kTileElements / in / 64 * 64));
  uint16_t* tile = cublas.weight_scratch(static_cast<size_t>(tile_rows * in));
  float_to_half(x, x_half, rows * in, stream);
  auto handle = static_cast<cublasHandle_t>(cublas.handle());
  check_cublas(cublasSetStream(handle, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  for (int64_t r0 = 0; r0 < out; r0 += tile_rows) {
    const int64_t count = std::min(tile_rows, out - r0);
    ggml_dequantize_rows_f16(matrix_, r0, count, tile, stream);
    // Column-major: Yᵀ[r0.., t] = tileᵀ-as-stored (T) · Xᵀ, ldc = out.
    check_cublas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(count), static_cast<int>(rows),
                              static_cast<int>(in), &alpha, tile, CUDA_R_16F, static_cast<int>(in), x_half,
                              CUDA_R_16F, static_cast<int>(in), &beta, y + r0, CUDA_R_32F, static_cast<int>(out),
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx (dequantized ggml tile)");
  }
  if (bias_.size() > 0) add_bias(y, bias_.as<float>(), rows, out, stream);
}

void GgmlLinearCuda::forward(CublasContext& cublas, const float* x, int64_t rows, const LinearEpilogue& epilogue,
                             void* stream) const {
  if (rows <= 0) return;
  const bool single = epilogue.segments == 1 && epilogue.kind != LinearEpilogue::Kind::silu_mul;
  const float* bias = bias_.size() > 0 ? bias_.as<float>() : nullptr;
  if (rows <= kGemvMaxRows && single) {
    ggml_gemv(matrix_, x, rows, bias, epilogue.out[0], matrix_.rows, epilogue.kind == LinearEpilogue::Kind::add,
              stream);
    return;
  }
  if (single && epilogue.kind == LinearEpilogue::Kind::store) {
    forward_tensor_cores(cublas, x, rows, epilogue.out[0], stream);
    return;
  }
  float* result = cublas.result_scratch(static_cast<size_t>(rows * matrix_.rows));
  if (rows <= kGemvMaxRows) {
    ggml_gemv(matrix_, x, rows, bias, result, matrix_.rows, false, stream);
  } else {
    forward_tensor_cores(cublas, x, rows, result, stream);
  }
  linear_epilogue_apply(result, rows, matrix_.rows, epilogue, stream);
}

}  // namespace citadel::runtime::cuda
