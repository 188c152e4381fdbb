#include "runtime/cuda/expert_rows.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;

__global__ void gather_rows_kernel(const float* x, const int32_t* rows, int64_t slots, int64_t dim, __half* out) {
  const int64_t n = slots * dim;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t s = i / dim, c = i % dim;
    out[i] = __float2half_rn(x[static_cast<int64_t>(rows[s]) * dim + c]);
  }
}

__global__ void silu_mul_halves_kernel(const float* gate_up, int64_t slots, int64_t width, __half* out) {
  const int64_t n = slots * width;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t s = i / width, c = i % width;
    const float g = gate_up[s * 2 * width + c];
    const float u = gate_up[s * 2 * width + width + c];
    out[i] = __float2half_rn(g / (1.0f + expf(-g)) * u);
  }
}

__global__ void add_weighted_rows_kernel(float* y, int64_t rows, int64_t dim, const float* expert_out,
                                         const int32_t* slot, const float* weight, int64_t per_row) {
  const int64_t n = rows * dim;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / dim, c = i % dim;
    float sum = 0.0f;
    for (int64_t j = 0; j < per_row; ++j) {
      const int32_t s = slot[r * per_row + j];
      if (s >= 0) sum += weight[r * per_row + j] * expert_out[static_cast<int64_t>(s) * dim + c];
    }
    y[i] += sum;
  }
}

}  // namespace

void gather_rows_to_half(const float* x, const int32_t* rows, int64_t slots, int64_t dim, uint16_t* out,
                         void* stream) {
  if (slots <= 0 || dim <= 0) return;
  gather_rows_kernel<<<grid_for(slots * dim), kBlock, 0, as_stream(stream)>>>(x, rows, slots, dim,
                                                                              reinterpret_cast<__half*>(out));
  check_launch("gather_rows_to_half");
}

void silu_mul_halves_to_half(const float* gate_up, int64_t slots, int64_t width, uint16_t* out, void* stream) {
  if (slots <= 0 || width <= 0) return;
  silu_mul_halves_kernel<<<grid_for(slots * width), kBlock, 0, as_stream(stream)>>>(
      gate_up, slots, width, reinterpret_cast<__half*>(out));
  check_launch("silu_mul_halves_to_half");
}

void add_weighted_rows(float* y, int64_t rows, int64_t dim, const float* expert_out, const int32_t* slot,
                       const float* weight, int64_t per_row, void* stream) {
  if (rows <= 0 || dim <= 0 || per_row <= 0) return;
  add_weighted_rows_kernel<<<grid_for(rows * dim), kBlock, 0, as_stream(stream)>>>(y, rows, dim, expert_out, slot,
                                                                                   weight, per_row);
  check_launch("add_weighted_rows");
}

}  // namespace citadel::runtime::cuda
