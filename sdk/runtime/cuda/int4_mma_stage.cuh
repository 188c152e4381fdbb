// int4_mma_stage.cuh — the inside of int4_mma's kernel: the layout of one
// pipeline stage in shared memory (64 inputs of a 128-column tile: packed
// weights, scales, zeros, x rows), its cp.async copy, and the warp's
// tensor-core work on it in both modes (f32-exact x = hi + lo with per-chunk
// f32 scales; f16 activations with scaled f16 weights). Included by
// int4_mma.cu only; int4_mma.h says what the GEMM computes.
//
// Fragment layouts of mma.sync.m16n8k16 (PTX ISA): with g = lane / 4 and
// t = lane % 4, A (16x16,
// rows = output columns, k = inputs) registers hold (g, 2t..2t+1),
// (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8, n = rows of x) holds
// (2t..2t+1, g), (2t+8.., g); C holds (g, 2t..2t+1), (g+8, 2t..2t+1).
// A byte of a packed word is the nibble pair of inputs (2t, 2t+1): it is
// moved to both halves of a word (byte_perm), masked and OR'd into the f16
// 1024 (low half: 1024 + q, high half: 1024 + 16 q), and one fma2 with
// (1, 1/16) and -(1024 + z), -(64 + z) leaves (q - z) exactly in each half.
// x rows sit in shared memory kXStride halves apart (64 inputs + 16 bytes of
// padding), so the eight rows of a B fragment fall in distinct banks; each
// ldmatrix.x4 loads the B fragments of two 8-row tiles.
#pragma once

#include "runtime/cuda/int4_mma.h"

#include <cuda_fp16.h>
#include <cuda_pipeline.h>

#include <algorithm>
#include <cstdint>

namespace citadel::runtime::cuda::int4_mma_detail {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kStageInputs = 64;
constexpr int kStages = 3;
constexpr int kStageWeightBytes = kStageInputs / 8 * kTile * 4;  // 4 KB
constexpr int kStageScaleBytes = 2 * kTile * 2;                   // two chunks of f16 scales
constexpr int kStageZeroBytes = 2 * kTile;                        // two chunks of u8 zeros
constexpr int kXStride = kStageInputs + 8;                        // halves between x rows in shared memory

// NT: 8-row tiles of x per pass; kParts: 2 when x = hi + lo (f32-exact), 1 when x is rounded to f16.
template <int NT, int kParts>
__host__ __device__ constexpr int stage_bytes() {
  return kStageWeightBytes + kStageScaleBytes + kStageZeroBytes + kParts * NT * 8 * kXStride * 2;
}

struct Params {
  Int4TiledWeights w;
  const __half* x_hi;  // [NT * 8][in]
  const __half* x_lo;  // null with kParts 1
  const float* bias;
  LinearEpilogue epilogue;
  int64_t row0;
  int32_t rows;
  int32_t stages;            // in / 64
  int32_t stages_per_split;
  int32_t splits;            // blocks of one cluster (one column tile)
};

__device__ __forceinline__ int64_t group_of(const Int4TiledWeights& w, int64_t chunk) {
  return w.chunks_per_group > 0
             ? static_cast<int64_t>(static_cast<uint32_t>(chunk) / static_cast<uint32_t>(w.chunks_per_group))
             : static_cast<int64_t>(__ldg(w.chunk_group + chunk));
}

template <int NT, int kParts>
__device__ __forceinline__ void issue_stage(const Params& p, char* buffer, int64_t tile, int64_t stage) {
  const int64_t in = p.w.in_features;
  const int64_t input0 = stage * kStageInputs;
  // Weights: 8 packed rows x 128 words, as 256 copies of 16 bytes.
  const uint32_t* weights = p.w.qweight + (tile * (in / 8) + input0 / 8) * kTile;
  for (int c = threadIdx.x; c < kStageWeightBytes / 16; c += kThreads) {
    __pipeline_memcpy_async(buffer + c * 16, weights + c * 4, 16);
  }
  // Scales and zeros of the stage's two chunks.
  char* scales = buffer + kStageWeightBytes;
  char* zeros = scales + kStageScaleBytes;
  for (int c = threadIdx.x; c < (kStageScaleBytes + kStageZeroBytes) / 16; c += kThreads) {
    const int chunk_in_stage = c < kStageScaleBytes / 16 ? c / (kTile * 2 / 16) : (c - kStageScaleBytes / 16) / (kTile / 16);
    const int64_t group = group_of(p.w, stage * 2 + chunk_in_stage);
    if (c < kStageScaleBytes / 16) {
      const int piece = c % (kTile * 2 / 16);
      __pipeline_memcpy_async(scales + c * 16, p.w.scales + group * p.w.padded_columns + tile * kTile + piece * 8, 16);
    } else {
      const int z = c - kStageScaleBytes / 16;
      const int piece = z % (kTile / 16);
      __pipeline_memcpy_async(zeros + z * 16, p.w.zeros + group * p.w.padded_columns + tile * kTile + piece * 16, 16);
    }
  }
  // x parts: NT * 8 rows x 64 inputs each, 8 copies of 16 bytes per row and part.
  char* x_parts = zeros + kStageZeroBytes;
  for (int c = threadIdx.x; c < kParts * NT * 8 * 8; c += kThreads) {
    const int part = c / (NT * 8 * 8), row = (c / 8) % (NT * 8), piece = c % 8;
    const __half* source = (part == 0 ? p.x_hi : p.x_lo) + row * in + input0 + piece * 8;
    __pipeline_memcpy_async(x_parts + ((part * NT * 8 + row) * kXStride + piece * 8) * 2, source, 16);
  }
  __pipeline_commit();
}

__device__ __forceinline__ uint32_t dequantize_pair(uint32_t word, uint32_t selector, __half2 minus_zero) {
  uint32_t bits = __byte_perm(word, 0u, selector);
  bits = (bits & 0x00F0000Fu) | 0x64006400u;
  const __half2 value = __hfma2(*reinterpret_cast<const __half2*>(&bits), __halves2half2(__float2half(1.0f),
                                                                                        __float2half(0.0625f)),
                                minus_zero);
  return *reinterpret_cast<const uint32_t*>(&value);
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The parts of one stage buffer in shared memory.
struct StageView {
  const uint32_t* weights;  // [8 packed rows][128 columns]
  const __half* scales;     // [2 chunks][128]
  const uint8_t* zeros;     // [2 chunks][128]
  const __half* x;          // [parts][rows][kXStride]
};

__device__ __forceinline__ StageView stage_view(const char* buffer) {
  return {reinterpret_cast<const uint32_t*>(buffer), reinterpret_cast<const __half*>(buffer + kStageWeightBytes),
          reinterpret_cast<const uint8_t*>(buffer + kStageWeightBytes + kStageScaleBytes),
          reinterpret_cast<const __half*>(buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes)};
}

// byte_perm selector that moves lane t's nibble pair to both halves of a word.
__device__ __forceinline__ uint32_t pair_selector(int t) {
  return 0x4040u | static_cast<uint32_t>(t) | (static_cast<uint32_t>(t) << 8);
}

// The fma2 addend that leaves (q - z) in both halves (see dequantize_pair).
__device__ __forceinline__ __half2 minus_zero_of(uint8_t zero) {
  const float z = static_cast<float>(zero);
  return __halves2half2(__float2half(-(1024.0f + z)), __float2half(-(64.0f + z)));
}

// B fragments of 8-row tiles nt and nt + 1 (only nt when NT is 1) at inputs
// k0..k0+15 of one x part: lanes 8i..8i+7 address the rows of matrix i
// (tile nt + i / 2, inputs k0 + 8 (i % 2)..).
template <int NT>
__device__ __forceinline__ void load_b(const __half* x_part, int nt, int k0, int lane, uint32_t (&b)[4]) {
  const int matrix = lane >> 3, row = lane & 7;
  const int tile = NT == 1 ? nt : nt + (matrix >> 1);
  const __half* address = x_part + (tile * 8 + row) * kXStride + k0 + (matrix & 1) * 8;
  const auto shared_address = static_cast<uint32_t>(__cvta_generic_to_shared(address));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
               : "r"(shared_address));
}

template <int NT, int kParts>
__device__ __forceinline__ void compute_stage(const char* buffer, int warp, int lane, float (&result)[2][NT][4]) {
  const int g = lane >> 2, t = lane & 3;
  const auto [weights, scales, zeros, x_parts] = stage_view(buffer);
  const uint32_t selector = pair_selector(t);
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    float scale[2][2];
    __half2 minus_zero[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = warp * 32 + mt * 16 + half * 8 + g;
        scale[mt][half] = __half2float(scales[chunk * kTile + column]);
        minus_zero[mt][half] = minus_zero_of(zeros[chunk * kTile + column]);
      }
    }
    float sums[2][NT][4];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) sums[mt][nt][i] = 0.0f;
      }
    }
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      const int k0 = chunk * 32 + step * 16;  // first input of this k-step within the stage
      const int row0 = k0 / 8;                 // packed rows row0 (inputs k0..k0+7) and row0 + 1
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int column = warp * 32 + mt * 16 + g;
        a[mt][0] = dequantize_pair(weights[row0 * kTile + column], selector, minus_zero[mt][0]);
        a[mt][1] = dequantize_pair(weights[row0 * kTile + column + 8], selector, minus_zero[mt][1]);
        a[mt][2] = dequantize_pair(weights[(row0 + 1) * kTile + column], selector, minus_zero[mt][0]);
        a[mt][3] = dequantize_pair(weights[(row0 + 1) * kTile + column + 8], selector, minus_zero[mt][1]);
      }
#pragma unroll
      for (int part = 0; part < kParts; ++part) {
#pragma unroll
        for (int nt = 0; nt < NT; nt += 2) {
          uint32_t b[4];
          load_b<NT>(x_parts + part * NT * 8 * kXStride, nt, k0, lane, b);
#pragma unroll
          for (int mt = 0; mt < 2; ++mt) {
            mma(sums[mt][nt], a[mt], b[0], b[1]);
            if (NT > 1) mma(sums[mt][nt + 1 < NT ? nt + 1 : nt], a[mt], b[2], b[3]);
          }
        }
      }
    }
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        result[mt][nt][0] = fmaf(scale[mt][0], sums[mt][nt][0], result[mt][nt][0]);
        result[mt][nt][1] = fmaf(scale[mt][0], sums[mt][nt][1], result[mt][nt][1]);
        result[mt][nt][2] = fmaf(scale[mt][1], sums[mt][nt][2], result[mt][nt][2]);
        result[mt][nt][3] = fmaf(scale[mt][1], sums[mt][nt][3], result[mt][nt][3]);
      }
    }
  }
}

// f16 activations: the weight operand is (q - z) * scale rounded to f16 once
// (as the dequantize + cuBLAS path rounds it), so the tensor cores
// accumulate the whole split in f32 with no per-chunk sums to scale.
template <int NT>
__device__ __forceinline__ void compute_stage_f16(const char* buffer, int warp, int lane, float (&result)[2][NT][4]) {
  const int g = lane >> 2, t = lane & 3;
  const auto [weights, scales, zeros, x] = stage_view(buffer);
  const uint32_t selector = pair_selector(t);
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    __half2 scale[2][2], minus_zero[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = warp * 32 + mt * 16 + half * 8 + g;
        scale[mt][half] = __half2half2(scales[chunk * kTile + column]);
        minus_zero[mt][half] = minus_zero_of(zeros[chunk * kTile + column]);
      }
    }
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      const int k0 = chunk * 32 + step * 16;
      const int row0 = k0 / 8;
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        const int column = warp * 32 + mt * 16 + g;
        const uint32_t words[4] = {weights[row0 * kTile + column], weights[row0 * kTile + column + 8],
                                   weights[(row0 + 1) * kTile + column], weights[(row0 + 1) * kTile + column + 8]};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const uint32_t exact = dequantize_pair(words[i], selector, minus_zero[mt][i & 1]);
          const __half2 scaled = __hmul2(*reinterpret_cast<const __half2*>(&exact), scale[mt][i & 1]);
          a[mt][i] = *reinterpret_cast<const uint32_t*>(&scaled);
        }
      }
#pragma unroll
      for (int nt = 0; nt < NT; nt += 2) {
        uint32_t b[4];
        load_b<NT>(x, nt, k0, lane, b);
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          mma(result[mt][nt], a[mt], b[0], b[1]);
          if (NT > 1) mma(result[mt][nt + 1 < NT ? nt + 1 : nt], a[mt], b[2], b[3]);
        }
      }
    }
  }
}

}  // namespace citadel::runtime::cuda::int4_mma_detail
