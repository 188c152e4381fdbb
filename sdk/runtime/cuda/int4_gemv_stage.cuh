// Staging of x for the int4 tensor-core GEMV kernels (int4_gemv_tc.cu,
// int4_gemv_ring.cu): x[rows][a block's inputs] as (hi, lo) f16 planes in
// mma.sync B-fragment order (int4_gemv_tc_warp.cuh), permuted by the
// layer's input_perm and optionally RMS-normalized on the way. Device code
// only; included by those .cu files.
#pragma once

#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_tiled.h"

#include <cuda_fp16.h>

#include <cstdint>

namespace citadel::runtime::cuda::int4_tc {

// 1 / sqrt(mean(x^2) + eps) of row x[in] (in % 4 == 0), on every thread of
// a block of kThreads; warp_sums holds kThreads / 32 floats of shared memory.
template <int kThreads>
__device__ float inverse_rms(const float* x, int64_t in, float eps, float* warp_sums) {
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < in / 4; i += kThreads) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(x) + i);
    sum = fmaf(v.x, v.x, sum);
    sum = fmaf(v.y, v.y, sum);
    sum = fmaf(v.z, v.z, sum);
    sum = fmaf(v.w, v.w, sum);
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  __syncthreads();  // warp_sums free (an earlier row's reads are done)
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = sum;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  return 1.0f / sqrtf(total / static_cast<float>(in) + eps);
}

// Packed rows [chunk0 * 4, chunk0 * 4 + local_rows) of x (rows [0, rows),
// row stride in_features) into planes: row m's hi at plane 2m, lo at 2m + 1,
// plane_stride bytes apart, 16 bytes per packed row. No closing barrier.
template <int kThreads>
__device__ void stage_x(const Int4TiledWeights& w, const float* x_rows, int rows, const RmsNormInput& norm,
                        int64_t chunk0, int local_rows, int plane_stride, char* planes) {
  const int64_t in = w.in_features;
  __shared__ float warp_sums[kThreads / 32];
  for (int m = 0; m < rows; ++m) {
    const float* x = x_rows + m * in;
    const float inverse = norm.weight != nullptr ? inverse_rms<kThreads>(x, in, norm.eps, warp_sums) : 1.0f;
    for (int r = threadIdx.x; r < local_rows; r += kThreads) {
      const int64_t k0 = (chunk0 * 4 + r) * 8;
      float v[8];
      int64_t source[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) source[j] = w.input_perm == nullptr ? k0 + j : __ldg(w.input_perm + k0 + j);
      if (w.input_perm == nullptr) {
        const float4 a = __ldg(reinterpret_cast<const float4*>(x + k0));
        const float4 b = __ldg(reinterpret_cast<const float4*>(x + k0 + 4));
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
      } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = __ldg(x + source[j]);
      }
      if (norm.weight != nullptr) {  // as rms_norm: x * inverse * weight
#pragma unroll
        for (int j = 0; j < 8; ++j) v[j] = v[j] * inverse * __ldg(norm.weight + source[j]);
      }
      constexpr int kOrder[8] = {0, 4, 1, 5, 2, 6, 3, 7};
      __align__(16) __half hi[8];
      __align__(16) __half lo[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        hi[j] = __float2half_rn(v[kOrder[j]]);
        lo[j] = __float2half_rn(v[kOrder[j]] - __half2float(hi[j]));
      }
      *reinterpret_cast<uint4*>(planes + (2 * m) * plane_stride + r * 16) = *reinterpret_cast<const uint4*>(hi);
      *reinterpret_cast<uint4*>(planes + (2 * m + 1) * plane_stride + r * 16) = *reinterpret_cast<const uint4*>(lo);
    }
  }
}

// Bytes between planes for local_rows packed rows: = 64 mod 128, so the two
// planes a quarter warp reads miss each other's banks.
inline int plane_stride_for(int local_rows) {
  const int bytes = local_rows * 16;
  return bytes + ((64 - bytes % 128) + 128) % 128;
}

}  // namespace citadel::runtime::cuda::int4_tc
