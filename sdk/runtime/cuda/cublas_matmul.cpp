// cuBLAS GEMMs in row-major terms: row-major Y[m, out] is column-major
// Yᵀ[out, m] = Wᵀ-as-stored · Xᵀ, so W is cuBLAS's A (transposed when stored
// [out, in]) and X its B.
#include "runtime/cuda/cublas_matmul.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/layer_kernels.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace citadel::runtime::cuda {

CublasContext::CublasContext() {
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  handle_ = handle;
}

CublasContext::~CublasContext() {
  if (handle_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(handle_));
}

uint16_t* CublasContext::activation_scratch(size_t elements) {
  if (activation_.size() < elements * sizeof(uint16_t)) {
    ++generation_;
    activation_ = DeviceBuffer();
    activation_ = DeviceBuffer(elements * sizeof(uint16_t), "f16 activation scratch");
  }
  return activation_.as<uint16_t>();
}

uint16_t* CublasContext::weight_scratch(size_t elements) {
  if (weight_.size() < elements * sizeof(uint16_t)) {
    ++generation_;
    weight_ = DeviceBuffer();
    weight_ = DeviceBuffer(elements * sizeof(uint16_t), "f16 weight scratch");
  }
  return weight_.as<uint16_t>();
}

float* CublasContext::result_scratch(size_t elements) {
  if (result_.size() < elements * sizeof(float)) {
    ++generation_;
    result_ = DeviceBuffer();
    result_ = DeviceBuffer(elements * sizeof(float), "f32 result scratch");
  }
  return result_.as<float>();
}

float* CublasContext::gemv_partials(size_t elements) {
  if (partials_.size() < elements * sizeof(float)) {
    ++generation_;
    partials_ = DeviceBuffer();
    partials_ = DeviceBuffer(elements * sizeof(float), "int4 GEMV split-K partials");
  }
  return partials_.as<float>();
}

int32_t* CublasContext::gemv_counters(size_t elements) {
  if (counters_.size() < elements * sizeof(int32_t)) {
    ++generation_;
    counters_ = DeviceBuffer();
    counters_ = DeviceBuffer(elements * sizeof(int32_t), "int4 GEMV tile counters");
    counters_.zero();
    synchronize();
  }
  return counters_.as<int32_t>();
}

namespace {

// The GEMM of matmul_f16_input / matmul_bf16_input: 16-bit operands of
// `type` (CUDA_R_16F or CUDA_R_16BF), f32 result, beta 1 when accumulating.
void gemm_16bit(CublasContext& context, const uint16_t* x, int64_t m, int64_t in, const uint16_t* weight,
                WeightLayout layout, int64_t out, float* y, const float* bias, void* stream, cudaDataType_t type,
                bool accumulate, const char* what) {
  if (m <= 0 || out <= 0) return;
  if (in <= 0 || m > 2147483647 || in > 2147483647 || out > 2147483647) {
    fail_invalid(std::string(what) + ": shape out of range (m " + std::to_string(m) + ", in " + std::to_string(in) +
                 ", out " + std::to_string(out) + ")");
  }
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  const bool out_in = layout == WeightLayout::out_in;
  check_cublas(cublasGemmEx(handle, out_in ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(out),
                            static_cast<int>(m), static_cast<int>(in), &alpha, weight, type,
                            static_cast<int>(out_in ? in : out), x, type, static_cast<int>(in), &beta, y, CUDA_R_32F,
                            static_cast<int>(out), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               type == CUDA_R_16BF ? "cublasGemmEx (bf16 weights)" : "cublasGemmEx (f16 weights)");
  if (bias != nullptr) add_bias(y, bias, m, out, stream);
}

}  // namespace

void matmul_f16_input(CublasContext& context, const uint16_t* x, int64_t m, int64_t in, const uint16_t* weight,
                      WeightLayout layout, int64_t out, float* y, const float* bias, void* stream) {
  gemm_16bit(context, x, m, in, weight, layout, out, y, bias, stream, CUDA_R_16F, false, "cuda matmul_f16");
}

void matmul_bf16_input(CublasContext& context, const uint16_t* x, int64_t m, int64_t in, const uint16_t* weight,
                       WeightLayout layout, int64_t out, float* y, const float* bias, void* stream, bool accumulate) {
  gemm_16bit(context, x, m, in, weight, layout, out, y, bias, stream, CUDA_R_16BF, accumulate, "cuda matmul_bf16");
}

void matmul_bf16(CublasContext& context, const float* x, int64_t m, int64_t in, const uint16_t* weight,
                 WeightLayout layout, int64_t out, float* y, const float* bias, void* stream, bool accumulate) {
  if (m <= 0 || out <= 0) return;
  uint16_t* x_bf16 = context.activation_scratch(static_cast<size_t>(m * in));
  float_to_bf16(x, x_bf16, m * in, stream);
  matmul_bf16_input(context, x_bf16, m, in, weight, layout, out, y, bias, stream, accumulate);
}

void matmul_f16_input_batched(CublasContext& context, const uint16_t* const* x, int64_t m, int64_t in,
                              const uint16_t* const* weights, int64_t out, float* const* y, int64_t count,
                              void* stream) {
  if (m <= 0 || out <= 0 || count <= 0) return;
  if (in <= 0 || m > 2147483647 || in > 2147483647 || out > 2147483647 || count > 2147483647) {
    fail_invalid("cuda matmul_f16_input_batched: shape out of range (m " + std::to_string(m) + ", in " +
                 std::to_string(in) + ", out " + std::to_string(out) + ", count " + std::to_string(count) + ")");
  }
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  check_cublas(cublasGemmBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(out), static_cast<int>(m),
                                   static_cast<int>(in), &alpha, reinterpret_cast<const void* const*>(weights),
                                   CUDA_R_16F, static_cast<int>(in), reinterpret_cast<const void* const*>(x),
                                   CUDA_R_16F, static_cast<int>(in), &beta, reinterpret_cast<void* const*>(y),
                                   CUDA_R_32F, static_cast<int>(out), static_cast<int>(count), CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT),
               "cublasGemmBatchedEx (f16 weights)");
}

void matmul_f16_input_stacked(CublasContext& context, const uint16_t* x, int64_t m, int64_t in,
                              const uint16_t* weights, int64_t out, float* y, int64_t count, void* stream) {
  if (m <= 0 || out <= 0 || count <= 0) return;
  if (in <= 0 || m > 2147483647 || in > 2147483647 || out > 2147483647 || count > 2147483647) {
    fail_invalid("cuda matmul_f16_input_stacked: shape out of range (m " + std::to_string(m) + ", in " +
                 std::to_string(in) + ", out " + std::to_string(out) + ", count " + std::to_string(count) + ")");
  }
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, static_cast<cudaStream_t>(stream)), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  check_cublas(cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(out), static_cast<int>(m),
                                          static_cast<int>(in), &alpha, weights, CUDA_R_16F, static_cast<int>(in),
                                          static_cast<long long>(out * in), x, CUDA_R_16F, static_cast<int>(in), 0,
                                          &beta, y, CUDA_R_32F, static_cast<int>(out), static_cast<long long>(m * out),
                                          static_cast<int>(count), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmStridedBatchedEx (stacked f16 weights)");
}

void matmul_f16(CublasContext& context, const float* x, int64_t m, int64_t in, const uint16_t* weight,
                WeightLayout layout, int64_t out, float* y, const float* bias, void* stream) {
  if (m <= 0 || out <= 0) return;
  uint16_t* x_half = context.activation_scratch(static_cast<size_t>(m * in));
  float_to_half(x, x_half, m * in, stream);
  matmul_f16_input(context, x_half, m, in, weight, layout, out, y, bias, stream);
}

}  // namespace citadel::runtime::cuda
