// Launch geometry and reductions shared by the elementwise and row kernels
// (layer_kernels.cu, video_kernels.cu, vision_kernels.cu, gemm_attention.cu,
// t5_kernels.cu, expert_rows.cu): 256-thread blocks, grids for grid-stride
// loops capped at 65535 blocks, the stream cast, warp and block sums and
// maxima, and the tail of a block's row softmax.
// CUDA sources only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace citadel::runtime::cuda::launch {

constexpr int kBlock = 256;

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

inline unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, 65535));
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Block-wide sum or max (blockDim a multiple of 32, at most 1024); `scratch`
// holds 32 floats. Every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float v, float* scratch) {
  v = kMax ? warp_max(v) : warp_sum(v);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    const unsigned warps = blockDim.x / 32;
    float w = threadIdx.x < warps ? scratch[threadIdx.x] : (kMax ? -INFINITY : 0.0f);
    w = kMax ? warp_max(w) : warp_sum(w);
    if (threadIdx.x == 0) scratch[0] = w;
  }
  __syncthreads();
  return scratch[0];
}

// The rest of a row softmax by one block, once the row holds its final
// logits and each thread the largest of the values it wrote (`top`, or
// -inf): row[j] = exp(row[j] - max) / sum, accurate expf. `scratch` as
// block_reduce's.
__device__ inline void block_softmax_tail(float* row, int64_t n, float top, float* scratch) {
  top = block_reduce<true>(top, scratch);
  float total = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(row[j] - top);
    row[j] = e;
    total += e;
  }
  const float inverse = 1.0f / block_reduce<false>(total, scratch);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) row[j] *= inverse;
}

}  // namespace citadel::runtime::cuda::launch
