// The vista linear layers' fused epilogues (see video_epilogues.h): one block
// per row for the norm, grid-stride loops for the elementwise passes.
#include "runtime/cuda/video_epilogues.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;
using launch::block_reduce;

__device__ __forceinline__ float biased(const float* x, const float* bias, int64_t i, int64_t column) {
  return bias != nullptr ? x[i] + bias[column] : x[i];
}

__global__ void bias_rms_norm_kernel(const float* x, const float* bias, int64_t dim, const float* weight, float eps,
                                     float* y) {
  const int64_t offset = static_cast<int64_t>(blockIdx.x) * dim;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    const float v = biased(x, bias, offset + i, i);
    sum += v * v;
  }
  __shared__ float scratch[32];
  const float inverse = 1.0f / sqrtf(block_reduce<false>(sum, scratch) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    y[offset + i] = biased(x, bias, offset + i, i) * inverse * weight[i];
}

__global__ void bias_gelu_to_half_kernel(const float* x, const float* bias, int64_t n, int64_t cols, __half* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = biased(x, bias, i, i % cols);
    out[i] = __float2half_rn(0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))));
  }
}

__global__ void gated_add_bias_kernel(float* x, const float* delta, const float* bias, int64_t n, int64_t dim,
                                      const float* gate, int64_t stride, int64_t rows_per_group) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / dim, column = i % dim;
    x[i] += biased(delta, bias, i, column) * gate[(row / rows_per_group) * stride + column];
  }
}

__global__ void add_bias_residual_kernel(float* x, const float* delta, const float* bias, int64_t n, int64_t dim) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] += biased(delta, bias, i, i % dim);
}

}  // namespace

void bias_rms_norm(const float* x, const float* bias, int64_t rows, int64_t dim, const float* weight, float eps,
                   float* y, void* stream) {
  if (rows <= 0) return;
  if (rows > 2147483647) fail_invalid("bias_rms_norm: more than 2^31 rows");
  bias_rms_norm_kernel<<<static_cast<unsigned>(rows), kBlock, 0, as_stream(stream)>>>(x, bias, dim, weight, eps, y);
  check_launch("bias_rms_norm");
}

void bias_gelu_to_half(const float* x, const float* bias, int64_t rows, int64_t cols, uint16_t* out, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  bias_gelu_to_half_kernel<<<grid_for(rows * cols), kBlock, 0, as_stream(stream)>>>(
      x, bias, rows * cols, cols, reinterpret_cast<__half*>(out));
  check_launch("bias_gelu_to_half");
}

void gated_add_bias(float* x, const float* delta, const float* bias, int64_t rows, int64_t dim, const float* gate,
                    int64_t gate_stride, int64_t rows_per_group, void* stream) {
  if (rows <= 0) return;
  if (rows_per_group <= 0) fail_invalid("gated_add_bias: rows_per_group must be positive");
  gated_add_bias_kernel<<<grid_for(rows * dim), kBlock, 0, as_stream(stream)>>>(x, delta, bias, rows * dim, dim, gate,
                                                                                gate_stride, rows_per_group);
  check_launch("gated_add_bias");
}

void add_bias_residual(float* x, const float* delta, const float* bias, int64_t rows, int64_t dim, void* stream) {
  if (rows <= 0) return;
  add_bias_residual_kernel<<<grid_for(rows * dim), kBlock, 0, as_stream(stream)>>>(x, delta, bias, rows * dim, dim);
  check_launch("add_bias_residual");
}

}  // namespace citadel::runtime::cuda
