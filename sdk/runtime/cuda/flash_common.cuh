// What the f16 flash attention kernels (flash_attention_f16.cu on mma.sync,
// sm90a/flash_attention_wgmma.cu on wgmma) share: the online softmax, the
// output rows' stores and the launch (one block per 128 queries of a head,
// dynamic shared memory opted in). Both keep one register layout: a lane holds query rows g and
// g + 8 of its warp's 16 (lane = 4 g + t); for each 8 columns j (keys of a
// score tile, or head dims of the output) s[j][0..1] are row g's columns
// 8 j + 2 t, 8 j + 2 t + 1 and s[j][2..3] row g + 8's. Scores are scaled into
// the log2 domain and exponentiated with exp2f; P is packed as the f16 A
// fragments of P.V (the scores of two 8-key tiles are exactly the fragment
// of 16 keys).
#pragma once

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/mma_primitives.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace citadel::runtime::cuda::flash {

// A lane's running maximum and sum (its part of the row) for rows g, g + 8.
struct RowState {
  float max[2] = {-INFINITY, -INFINITY};
  float sum[2] = {0.0f, 0.0f};
};

// One tile of kKeys scores: masks keys at or past valid_keys, updates the
// running maximum and sum, writes the probabilities into p and the factor
// by which the output so far must be rescaled into correction (0 on the
// first tile). Every tile has a valid key, so the maxima stay finite.
template <int kKeys>
__device__ __forceinline__ void softmax_tile(float (&s)[kKeys / 8][4], int t, int64_t valid_keys, float scale_log2,
                                             RowState& state, uint32_t (&p)[kKeys / 16][4], float (&correction)[2]) {
  float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int j = 0; j < kKeys / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = j * 8 + 2 * t + (e % 2);
      s[j][e] = key < valid_keys ? s[j][e] * scale_log2 : -INFINITY;
      tile_max[e / 2] = fmaxf(tile_max[e / 2], s[j][e]);
    }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
    const float new_max = fmaxf(state.max[r], tile_max[r]);
    correction[r] = exp2f(state.max[r] - new_max);
    state.max[r] = new_max;
    state.sum[r] *= correction[r];
  }
#pragma unroll
  for (int j = 0; j < kKeys / 8; ++j) {
    const float p0 = exp2f(s[j][0] - state.max[0]), p1 = exp2f(s[j][1] - state.max[0]);
    const float p2 = exp2f(s[j][2] - state.max[1]), p3 = exp2f(s[j][3] - state.max[1]);
    state.sum[0] += p0 + p1;
    state.sum[1] += p2 + p3;
    p[j / 2][(j % 2) * 2] = mma::pack_half2(p0, p1);
    p[j / 2][(j % 2) * 2 + 1] = mma::pack_half2(p2, p3);
  }
}

// o *= correction, row by row.
template <int kTiles>
__device__ __forceinline__ void rescale(float (&o)[kTiles][4], const float (&correction)[2]) {
#pragma unroll
  for (int i = 0; i < kTiles; ++i) {
    o[i][0] *= correction[0];
    o[i][1] *= correction[0];
    o[i][2] *= correction[1];
    o[i][3] *= correction[1];
  }
}

// Divides the lane's output rows by their sums and stores them (f32) at
// out + query * stride + column; row g is `query_g` (rows past num_queries
// are not stored).
template <int kTiles>
__device__ __forceinline__ void store_rows(const float (&o)[kTiles][4], RowState& state, int64_t query_g,
                                           int64_t num_queries, int t, float* out, int64_t stride, int64_t column) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    state.sum[r] += __shfl_xor_sync(0xffffffffu, state.sum[r], 1);
    state.sum[r] += __shfl_xor_sync(0xffffffffu, state.sum[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t query = query_g + r * 8;
    if (query >= num_queries) continue;
    float* row = out + query * stride + column;
    const float inverse = 1.0f / state.sum[r];
#pragma unroll
    for (int i = 0; i < kTiles; ++i)
      *reinterpret_cast<float2*>(row + i * 8 + 2 * t) = make_float2(o[i][2 * r] * inverse, o[i][2 * r + 1] * inverse);
  }
}

// Launches kernel(q, num_queries, k, v, num_keys, heads, scale in the log2
// domain, out) over blocks of `queries` queries x heads, with `bytes` of
// dynamic shared memory (opted in past 48 KB); errors name `what`.
template <typename Kernel>
void launch(Kernel kernel, int threads, int queries, size_t bytes, const uint16_t* q, int64_t num_queries,
            const uint16_t* k, const uint16_t* v, int64_t num_keys, int64_t heads, float scale, float* out,
            void* stream, const char* what) {
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
             (std::string(what) + ": shared memory opt-in").c_str());
  const dim3 grid(static_cast<unsigned>((num_queries + queries - 1) / queries), static_cast<unsigned>(heads));
  kernel<<<grid, threads, bytes, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<const __half*>(q), num_queries, reinterpret_cast<const __half*>(k),
      reinterpret_cast<const __half*>(v), num_keys, heads, scale * 1.4426950408889634f, out);
  check_launch(what);
}

}  // namespace citadel::runtime::cuda::flash
