#include "runtime/cuda/expert_gemm.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_memory_opt_in.h"
#include "runtime/cuda/launch_helpers.cuh"
#include "runtime/cuda/mma_primitives.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;

constexpr int kThreads = 128;  // 4 warps
constexpr int kTileN = 128;    // weight rows in a block's slice (silu: 64 gate + 64 up)
constexpr int kChunkK = 64;    // inputs per stage: one 128-byte shared row per matrix row
constexpr int kStages = 4;

template <int kMTiles>
constexpr int shared_bytes() {
  return kStages * (kTileN + 16 * kMTiles) * kChunkK * static_cast<int>(sizeof(__half));
}

// Halves from the start of a stage to 16-byte chunk `chunk` of shared row
// `row`: the chunks of a row rotated by the row's low bits, so the 8 rows
// one ldmatrix reads fall in different banks.
__device__ __forceinline__ int swizzled(int row, int chunk) { return row * kChunkK + ((chunk ^ (row & 7)) << 3); }

__device__ __forceinline__ float silu(float g) { return g / (1.0f + expf(-g)); }

// Block (column tile, group). Shared rows 0..127 hold the weight slice,
// then 16 * kMTiles input rows. Warp w multiplies two 16-row bands of the
// slice: rows 32w.. 32w+31 (f32), or gate rows 16w.. and the up rows 64
// further (silu), so a lane holds the gate and up sums of the same column.
template <int kMTiles, bool kSilu>
__global__ void __launch_bounds__(kThreads)
    expert_gemm_kernel(const __half* x, int k, const __half* const* weights, int n, const int32_t* offsets, void* y) {
  extern __shared__ __align__(16) __half smem[];
  constexpr int kM = 16 * kMTiles;
  constexpr int kRows = kTileN + kM;
  const int group = blockIdx.y;
  const int begin = offsets[group], count = offsets[group + 1] - begin;
  if (count <= 0) return;
  const __half* w = weights[group];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int n0 = blockIdx.x * (kSilu ? kTileN / 2 : kTileN);
  const int band0 = kSilu ? 16 * warp : 32 * warp;
  const int band1 = kSilu ? 64 + 16 * warp : 32 * warp + 16;
  const int chunks = (k + kChunkK - 1) / kChunkK;

  for (int pass = 0; pass < count; pass += kM) {
    const int rows_here = min(kM, count - pass);
    const int m_tiles = (rows_here + 15) >> 4;
    const __half* x_pass = x + static_cast<int64_t>(begin + pass) * k;
    auto load = [&](int chunk, int stage) {
      __half* base = smem + stage * kRows * kChunkK;
      const int k0 = chunk * kChunkK;
#pragma unroll
      for (int copy = 0; copy < kTileN * 8 / kThreads; ++copy) {
        const int i = copy * kThreads + threadIdx.x;
        const int row = i >> 3, c = i & 7, kk = k0 + (c << 3);
        const int column = n0 + (kSilu ? (row & 63) : row);
        const int weight_row = kSilu && row >= 64 ? n + column : column;
        const bool valid = column < n && kk < k;
        mma::copy_16(base + swizzled(row, c), valid ? w + static_cast<int64_t>(weight_row) * k + kk : w, valid);
      }
#pragma unroll
      for (int copy = 0; copy < kM * 8 / kThreads; ++copy) {
        const int i = copy * kThreads + threadIdx.x;
        const int row = i >> 3, c = i & 7, kk = k0 + (c << 3);
        const bool valid = row < rows_here && kk < k;
        mma::copy_16(base + swizzled(kTileN + row, c), valid ? x_pass + static_cast<int64_t>(row) * k + kk : x, valid);
      }
    };
    float acc[kMTiles][4][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[mt][i][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < chunks) load(s, s);
      mma::copy_commit();
    }
    for (int chunk = 0; chunk < chunks; ++chunk) {
      mma::copy_wait<kStages - 2>();
      __syncthreads();
      const int next = chunk + kStages - 1;
      if (next < chunks) load(next, next % kStages);
      mma::copy_commit();
      const __half* base = smem + (chunk % kStages) * kRows * kChunkK;
#pragma unroll
      for (int ks = 0; ks < kChunkK / 16; ++ks) {
        uint32_t b0[4], b1[4];
        const int b_row = ((lane >> 4) << 3) + (lane & 7), b_chunk = 2 * ks + ((lane >> 3) & 1);
        mma::ldmatrix_x4(b0, base + swizzled(band0 + b_row, b_chunk));
        mma::ldmatrix_x4(b1, base + swizzled(band1 + b_row, b_chunk));
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          if (mt < m_tiles) {
            uint32_t a[4];
            mma::ldmatrix_x4(a, base + swizzled(kTileN + 16 * mt + (lane & 15), 2 * ks + (lane >> 4)));
            mma::mma_16816(acc[mt][0], a, b0[0], b0[1]);
            mma::mma_16816(acc[mt][1], a, b0[2], b0[3]);
            mma::mma_16816(acc[mt][2], a, b1[0], b1[1]);
            mma::mma_16816(acc[mt][3], a, b1[2], b1[3]);
          }
        }
      }
    }
    mma::copy_wait<0>();
    __syncthreads();  // the next pass's first loads overwrite every stage

    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      if (mt >= m_tiles) continue;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = pass + 16 * mt + g + 8 * h;
        if (row >= count) continue;
        const int64_t slot = begin + row;
        if constexpr (kSilu) {
#pragma unroll
          for (int i = 0; i < 2; ++i) {
            const int column = n0 + 16 * warp + 8 * i + 2 * t;
            if (column >= n) continue;
            const float v0 = silu(acc[mt][i][2 * h]) * acc[mt][i + 2][2 * h];
            const float v1 = silu(acc[mt][i][2 * h + 1]) * acc[mt][i + 2][2 * h + 1];
            *reinterpret_cast<__half2*>(static_cast<__half*>(y) + slot * n + column) = __floats2half2_rn(v0, v1);
          }
        } else {
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int column = n0 + 32 * warp + 8 * i + 2 * t;
            if (column >= n) continue;
            *reinterpret_cast<float2*>(static_cast<float*>(y) + slot * n + column) =
                make_float2(acc[mt][i][2 * h], acc[mt][i][2 * h + 1]);
          }
        }
      }
    }
  }
}

template <int kMTiles, bool kSilu>
void launch_tiles(const __half* x, int k, const __half* const* weights, int n, const int32_t* offsets, int groups,
                  void* y, cudaStream_t stream) {
  constexpr int bytes = shared_bytes<kMTiles>();
  opt_in_shared_memory(reinterpret_cast<const void*>(expert_gemm_kernel<kMTiles, kSilu>), bytes,
                       "expert_gemm shared memory");
  const int columns_per_block = kSilu ? kTileN / 2 : kTileN;
  const dim3 grid(static_cast<unsigned>((n + columns_per_block - 1) / columns_per_block), static_cast<unsigned>(groups));
  expert_gemm_kernel<kMTiles, kSilu><<<grid, kThreads, bytes, stream>>>(x, k, weights, n, offsets, y);
}

template <bool kSilu>
void launch_output(const __half* x, int k, const __half* const* weights, int n, const int32_t* offsets, int groups,
                   int64_t max_group_rows, void* y, cudaStream_t stream) {
  if (max_group_rows <= 16) {
    launch_tiles<1, kSilu>(x, k, weights, n, offsets, groups, y, stream);
  } else if (max_group_rows <= 32) {
    launch_tiles<2, kSilu>(x, k, weights, n, offsets, groups, y, stream);
  } else {
    launch_tiles<4, kSilu>(x, k, weights, n, offsets, groups, y, stream);
  }
}

}  // namespace

void expert_gemm_f16(const uint16_t* x, int64_t k, const uint16_t* const* weights, int64_t n,
                     const int32_t* group_offsets, int64_t groups, int64_t max_group_rows, ExpertGemmOutput output,
                     void* y, void* stream) {
  if (k <= 0 || k % 8 != 0 || n <= 0 || n % 2 != 0 || k > INT32_MAX / 2 || n > INT32_MAX / 4 || groups > 65535 ||
      reinterpret_cast<uintptr_t>(x) % 16 != 0)
    fail_invalid("expert_gemm_f16: k " + std::to_string(k) + ", n " + std::to_string(n) + ", " +
                  std::to_string(groups) + " groups (k a multiple of 8, n even, x 16-byte aligned, at most 65535 groups)");
  if (groups <= 0 || max_group_rows <= 0) return;
  const auto* xh = reinterpret_cast<const __half*>(x);
  const auto* const* wh = reinterpret_cast<const __half* const*>(weights);
  if (output == ExpertGemmOutput::silu_mul_f16) {
    launch_output<true>(xh, static_cast<int>(k), wh, static_cast<int>(n), group_offsets, static_cast<int>(groups),
                        max_group_rows, y, as_stream(stream));
  } else {
    launch_output<false>(xh, static_cast<int>(k), wh, static_cast<int>(n), group_offsets, static_cast<int>(groups),
                         max_group_rows, y, as_stream(stream));
  }
  check_launch("expert_gemm_f16");
}

}  // namespace citadel::runtime::cuda
