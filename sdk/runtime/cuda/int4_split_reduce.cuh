// The end of an int4 linear kernel's block (int4_gemv.cu, int4_gemv_tc.cu,
// int4_gemv_ring.cu, int4_mma.cu): the block has the sums of its column tile
// over its split of the inputs in shared memory, final_values[rows][128];
// with several splits through global memory (int4_gemv) it publishes them to
// `partials` [splits, rows, padded_columns] and the last block of the tile (a
// per-tile counter that this block resets) adds them in split order; then
// bias and the layer's epilogue (linear_epilogue.cuh). Deterministic. The
// cluster kernels (int4_mma.cu, sm90a/int4_wgmma.cu) reduce their splits
// through distributed shared memory (cluster_reduce_rows) and call this
// with one.
#pragma once

#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.cuh"

#include <cooperative_groups.h>

namespace citadel::runtime::cuda {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// The splits of a column tile are one thread-block cluster: block `split`
// adds up rows [row_begin, row_end) of every block's final_values (row
// stride 128, in split order: deterministic) into its own. Every block of
// the cluster calls this after the barrier that made its final_values
// visible to itself.
template <int kThreads, int kMaxSplits>
__device__ void cluster_reduce_rows(float* final_values, int row_begin, int row_end, int splits) {
  constexpr int kTile = static_cast<int>(kInt4TileColumns);
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();  // every block's final_values written
  // Only this block reads its own rows' values: each sum replaces its value
  // in place. A remote load waits hundreds of cycles, so each thread keeps
  // kReduceUnroll float4 loads of every split in flight.
  constexpr int kReduceUnroll = 4;
  float4* mine = reinterpret_cast<float4*>(final_values + row_begin * kTile);
  const int count = (row_end - row_begin) * kTile / 4;
  for (int first = threadIdx.x; first < count; first += kThreads * kReduceUnroll) {
    float4 sum[kReduceUnroll];
#pragma unroll
    for (int u = 0; u < kReduceUnroll; ++u) sum[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int r = 0; r < kMaxSplits; ++r) {
      if (r < splits) {
        const float4* theirs = cluster.map_shared_rank(mine, r);
#pragma unroll
        for (int u = 0; u < kReduceUnroll; ++u) {
          const int index = first + u * kThreads;
          if (index < count) {
            const float4 value = theirs[index];
            sum[u].x += value.x, sum[u].y += value.y, sum[u].z += value.z, sum[u].w += value.w;
          }
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kReduceUnroll; ++u) {
      if (first + u * kThreads < count) mine[first + u * kThreads] = sum[u];
    }
  }
  cluster.sync();  // no block reads another's final_values any more
  __syncthreads();
}
#endif

// Bias and epilogue for rows [0, rows) of final_values (row stride 128).
template <int kThreads>
__device__ void finish_tile(const Int4TiledWeights& w, const LinearEpilogue& e, int64_t row0, int rows, int64_t tile,
                            const float* final_values) {
  constexpr int kTile = static_cast<int>(kInt4TileColumns);
  if (e.kind == LinearEpilogue::Kind::silu_mul) {
    constexpr int kHalf = static_cast<int>(LinearEpilogue::kSiluTile);
    const int64_t half_columns = w.columns / 2;
    for (int index = threadIdx.x; index < rows * kHalf; index += kThreads) {
      const int m = index / kHalf, c = index % kHalf;
      epilogue_silu_mul(e, row0 + m, half_columns, tile * kHalf + c, final_values[m * kTile + c],
                        final_values[m * kTile + c + kHalf]);
    }
    return;
  }
  for (int index = threadIdx.x; index < rows * kTile; index += kThreads) {
    const int m = index / kTile, c = index % kTile;
    const int64_t column = tile * kTile + c;
    if (column < w.columns) epilogue_store(e, row0 + m, column, final_values[index]);
  }
}

// All threads of the block call this after a barrier that made final_values visible.
template <int kMaxRows, int kThreads>
__device__ void finish_split_tile(const Int4TiledWeights& w, const float* bias, float* partials, int32_t* counters,
                                  const LinearEpilogue& e, int64_t row0, int rows, int splits, int split, int64_t tile,
                                  float* final_values) {
  constexpr int kTile = static_cast<int>(kInt4TileColumns);
  if (splits > 1) {
    // final_values and each tile's slice of partials are 16-byte aligned
    // (row strides of 128 floats): publish and sum as float4.
    constexpr int kVectorsPerRow = kTile / 4;
    constexpr int kPerThread = (kMaxRows * kVectorsPerRow + kThreads - 1) / kThreads;
    const int vectors = rows * kVectorsPerRow;
    float4* values4 = reinterpret_cast<float4*>(final_values);
    auto slice = [&](int s, int v) {
      return reinterpret_cast<float4*>(partials + (static_cast<int64_t>(s) * rows + v / kVectorsPerRow) * w.padded_columns +
                                       tile * kTile) + v % kVectorsPerRow;
    };
    for (int v = threadIdx.x; v < vectors; v += kThreads) *slice(split, v) = values4[v];
    __threadfence();
    __syncthreads();
    __shared__ int is_last;
    if (threadIdx.x == 0) is_last = atomicAdd(counters + tile, 1) == splits - 1;
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    // Every thread keeps its vectors' sums in registers and issues all of
    // them for one split before the next: the loads of a split are in flight
    // together. Splits are added in order: deterministic.
    float4 sums[kPerThread];
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) sums[j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int s = 0; s < splits; ++s) {
#pragma unroll
      for (int j = 0; j < kPerThread; ++j) {
        const int v = threadIdx.x + j * kThreads;
        if (v < vectors) {
          const float4 part = __ldcg(slice(s, v));
          sums[j].x += part.x;
          sums[j].y += part.y;
          sums[j].z += part.z;
          sums[j].w += part.w;
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int v = threadIdx.x + j * kThreads;
      if (v < vectors) values4[v] = sums[j];
    }
    if (threadIdx.x == 0) counters[tile] = 0;
    __syncthreads();
  }
  if (bias != nullptr) {
    for (int index = threadIdx.x; index < rows * kTile; index += kThreads) {
      const int64_t column = tile * kTile + index % kTile;
      if (column < w.columns) final_values[index] += __ldg(bias + column);
    }
    __syncthreads();
  }
  finish_tile<kThreads>(w, e, row0, rows, tile, final_values);
}

}  // namespace citadel::runtime::cuda
