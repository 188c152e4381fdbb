// int4_mma_stage.cuh — the inside of int4_mma's kernel: the layout of one
// pipeline stage in shared memory (64 inputs of a 128-column tile: packed
// weights, scales, zeros, x rows), its cp.async copy, and the warp's
// tensor-core work on it in both modes (f32-exact x = hi + lo with per-chunk
// f32 scales; f16 activations with scaled f16 weights). Included by
// int4_mma.cu and sm90a/int4_wgmma.cu (which shares the weights' part of a
// stage and the dequantization); int4_mma.h says what the GEMM computes.
//
// Fragment layouts of mma.sync.m16n8k16 (PTX ISA): with g = lane / 4 and
// t = lane % 4, A (16x16, rows = output columns, k = inputs) registers hold
// (g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8, n = rows
// of x) holds (2t..2t+1, g), (2t+8.., g); C holds (g, 2t..2t+1),
// (g+8, 2t..2t+1). A sum over k does not depend on which input stands at
// which k, so the inputs are dealt to the fragments in the order that costs
// fewest instructions: in a 32-input chunk, lane t takes packed row t (one
// whole word per column, inputs 8t..8t+7 as nibbles n0..n7), and its k-step
// s (0, 1) takes nibbles (s, s+4) at k = 2t, 2t+1 and (s+2, s+6) at 2t+8,
// 2t+9. Nibbles (0, 4) of a word come out as the f16 pair (1024 + q) by one
// mask-and-or (LOP3), (1, 5) as (1024 + 16 q), (2, 6) and (3, 7) the same
// from the word shifted by 8; one add or fma2 then leaves (q - z) exactly.
// x is written in the matching order (int4_mma.cu's split_halves_kernel:
// inputs 8j + (0, 4, 2, 6, 1, 5, 3, 7) at 8j..8j+7), so one 16-byte shared
// load gives a lane both B registers of both k-steps of an 8-row tile.
// Shared memory is swizzled instead of padded: packed row r's column c at
// c ^ 8 (r % 4) (the four lanes of a column read four rows: distinct banks),
// x row r's 16-byte piece p at p ^ 4 (r % 2).
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
constexpr int kXRowBytes = kStageInputs * 2;                     // one x row of a stage (f16), unpadded

// NT: 8-row tiles of x per pass; kParts: 2 when x = hi + lo (f32-exact), 1 when x is rounded to f16.
template <int NT, int kParts>
__host__ __device__ constexpr int stage_bytes() {
  return kStageWeightBytes + kStageScaleBytes + kStageZeroBytes + kParts * NT * 8 * kXRowBytes;
}

struct Params {
  Int4TiledWeights w;
  const __half* x_hi;  // [NT * 8][in], inputs interleaved in groups of 8 (see above)
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

// Word offset of packed row `row`, column `column` in a stage's weights.
__device__ __forceinline__ int weight_slot(int row, int column) { return row * kTile + (column ^ ((row & 3) << 3)); }

// Byte offset of x row `row`, 16-byte piece `piece` (inputs 8 piece..) in a stage's x part.
__device__ __forceinline__ int x_slot(int row, int piece) {
  return row * kXRowBytes + ((piece ^ ((row & 1) << 2)) << 4);
}

// The cp.async copies of one stage's weights, scales and zeros (the part of
// a stage that int4_mma and int4_wgmma share; the caller adds its x copies
// and commits). Every count is a compile-time constant, so each thread's
// copies unroll with no loop tests.
__device__ __forceinline__ void issue_stage_weights(const Int4TiledWeights& w, char* buffer, int64_t tile,
                                                    int64_t stage) {
  const int64_t in = w.in_features;
  const int64_t input0 = stage * kStageInputs;
  // Weights: 8 packed rows x 128 words, contiguous in the tile, as 256 copies of 16 bytes (4 columns).
  const uint32_t* weights = w.qweight + (tile * (in / 8) + input0 / 8) * kTile;
#pragma unroll
  for (int i = 0; i < kStageWeightBytes / 16 / kThreads; ++i) {
    const int c = static_cast<int>(threadIdx.x) + i * kThreads;
    const int row = c / (kTile / 4), column = (c % (kTile / 4)) * 4;
    __pipeline_memcpy_async(buffer + weight_slot(row, column) * 4, weights + c * 4, 16);
  }
  // Scales (32 copies) and zeros (16) of the stage's two chunks.
  constexpr int kScaleCopies = kStageScaleBytes / 16, kZeroCopies = kStageZeroBytes / 16;
  static_assert(kScaleCopies + kZeroCopies <= kThreads, "one scale or zero copy per thread");
  const int c = static_cast<int>(threadIdx.x);
  if (c < kScaleCopies) {
    const int chunk = c / (kTile * 2 / 16), piece = c % (kTile * 2 / 16);
    const int64_t group = group_of(w, stage * 2 + chunk);
    __pipeline_memcpy_async(buffer + kStageWeightBytes + c * 16,
                            w.scales + group * w.padded_columns + tile * kTile + piece * 8, 16);
  } else if (c < kScaleCopies + kZeroCopies) {
    const int z = c - kScaleCopies, chunk = z / (kTile / 16), piece = z % (kTile / 16);
    const int64_t group = group_of(w, stage * 2 + chunk);
    __pipeline_memcpy_async(buffer + kStageWeightBytes + kStageScaleBytes + z * 16,
                            w.zeros + group * w.padded_columns + tile * kTile + piece * 16, 16);
  }
}

// The cp.async copies of one stage, committed as one group.
template <int NT, int kParts>
__device__ __forceinline__ void issue_stage(const Params& p, char* buffer, int64_t tile, int64_t stage) {
  issue_stage_weights(p.w, buffer, tile, stage);
  const int64_t in = p.w.in_features;
  const int64_t input0 = stage * kStageInputs;
  // x parts: NT * 8 rows x 8 pieces of 16 bytes each.
  constexpr int kXCopies = kParts * NT * 8 * 8;
  char* x_parts = buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes;
#pragma unroll
  for (int i = 0; i < (kXCopies + kThreads - 1) / kThreads; ++i) {
    const int x = static_cast<int>(threadIdx.x) + i * kThreads;
    if (kXCopies % kThreads == 0 || x < kXCopies) {
      const int part = x / (NT * 8 * 8), row = (x / 8) % (NT * 8), piece = x % 8;
      const __half* source = (part == 0 ? p.x_hi : p.x_lo) + row * in + input0 + piece * 8;
      __pipeline_memcpy_async(x_parts + part * NT * 8 * kXRowBytes + x_slot(row, piece), source, 16);
    }
  }
  __pipeline_commit();
}

// The parts of one stage buffer in shared memory.
struct StageView {
  const uint32_t* weights;  // [8 packed rows][128 columns], swizzled (weight_slot)
  const __half* scales;     // [2 chunks][128]
  const uint8_t* zeros;     // [2 chunks][128]
  const char* x;            // [parts][rows][64 inputs], swizzled (x_slot)
};

__device__ __forceinline__ StageView stage_view(const char* buffer) {
  return {reinterpret_cast<const uint32_t*>(buffer), reinterpret_cast<const __half*>(buffer + kStageWeightBytes),
          reinterpret_cast<const uint8_t*>(buffer + kStageWeightBytes + kStageScaleBytes),
          buffer + kStageWeightBytes + kStageScaleBytes + kStageZeroBytes};
}

__device__ __forceinline__ __half2 as_half2(uint32_t bits) { return *reinterpret_cast<const __half2*>(&bits); }
__device__ __forceinline__ uint32_t as_bits(__half2 value) { return *reinterpret_cast<const uint32_t*>(&value); }

// The zero point of one column as the two f16 pairs the k-steps subtract:
// -(1024 + z) twice (step 0) and -(64 + z) twice (step 1), z in 0..16.
struct MinusZero {
  uint32_t step0, step1;
};

__device__ __forceinline__ MinusZero minus_zero_of(uint32_t zero) {
  return {0xE400E400u | (zero * 0x10001u), 0xD400D400u | (zero * 0x100010u)};
}

// (word & mask) | magic in one LOP3 (C++ gives two: LOP3 takes one immediate).
template <uint32_t kMask>
__device__ __forceinline__ uint32_t mask_or_magic(uint32_t word) {
  uint32_t bits;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(bits) : "r"(word), "n"(kMask), "r"(0x64006400u));
  return bits;
}

// (q - z) exactly, for the word's nibbles (s, s+4) at k-step s (the caller
// shifts the word by 8 for nibbles (s+2, s+6)).
template <int kStep>
__device__ __forceinline__ __half2 dequantize(uint32_t word, const MinusZero& mz) {
  if constexpr (kStep == 0) {
    return __hadd2(as_half2(mask_or_magic<0x000F000Fu>(word)), as_half2(mz.step0));
  } else {
    return __hfma2(as_half2(mask_or_magic<0x00F000F0u>(word)), __float2half2_rn(0.0625f), as_half2(mz.step1));
  }
}

// The four A registers of 16-column tile columns (g, g + 8) at k-step kStep,
// from the lane's words of those columns; f16 mode scales them (f16 rounding,
// as dequantize + cuBLAS rounds its weights).
template <int kStep, bool kScaled>
__device__ __forceinline__ void a_fragment(uint32_t (&a)[4], const uint32_t (&words)[2], const MinusZero (&mz)[2],
                                           const __half2 (&scale)[2]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int half = i & 1;  // column g or g + 8
    const uint32_t word = i < 2 ? words[half] : words[half] >> 8;
    const __half2 value = dequantize<kStep>(word, mz[half]);
    a[i] = as_bits(kScaled ? __hmul2(value, scale[half]) : value);
  }
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// One stage for warp `warp` (columns 32 warp..32 warp + 31 as two 16-column
// tiles mt) and all NT * 8 rows. kParts 2 (f32-exact): each chunk's sums over
// x hi and lo are scaled in f32 into `result`; kParts 1 (f16 activations):
// the weights are scaled before the mma and `result` accumulates directly.
template <int NT, int kParts>
__device__ __forceinline__ void compute_stage(const char* buffer, int warp, int lane, float (&result)[2][NT][4]) {
  constexpr bool kScaledWeights = kParts == 1;
  const int g = lane >> 2, t = lane & 3;
  const StageView view = stage_view(buffer);
#pragma unroll
  for (int chunk = 0; chunk < 2; ++chunk) {
    const int row = chunk * 4 + t;  // this lane's packed row: inputs 8 row..8 row + 7 of the stage
    uint32_t b[kParts][NT][4];      // k-step 0: b[..][0..1], k-step 1: b[..][2..3]
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const uint4 pieces =
            *reinterpret_cast<const uint4*>(view.x + part * NT * 8 * kXRowBytes + x_slot(nt * 8 + g, row));
        b[part][nt][0] = pieces.x, b[part][nt][1] = pieces.y, b[part][nt][2] = pieces.z, b[part][nt][3] = pieces.w;
      }
    }
    uint32_t words[2][2];
    MinusZero mz[2][2];
    __half2 scale_f16[2][2];
    float scale_f32[2][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int column = warp * 32 + mt * 16 + half * 8 + g;
        words[mt][half] = view.weights[weight_slot(row, column)];
        mz[mt][half] = minus_zero_of(view.zeros[chunk * kTile + column]);
        const __half scale = view.scales[chunk * kTile + column];
        scale_f16[mt][half] = __half2half2(scale);
        scale_f32[mt][half] = __half2float(scale);
      }
    }
    float sums[2][NT][4];
    float (&target)[2][NT][4] = kScaledWeights ? result : sums;
    if constexpr (!kScaledWeights) {
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
          for (int i = 0; i < 4; ++i) sums[mt][nt][i] = 0.0f;
        }
      }
    }
#pragma unroll
    for (int step = 0; step < 2; ++step) {
      uint32_t a[2][4];
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
        if (step == 0) {
          a_fragment<0, kScaledWeights>(a[mt], words[mt], mz[mt], scale_f16[mt]);
        } else {
          a_fragment<1, kScaledWeights>(a[mt], words[mt], mz[mt], scale_f16[mt]);
        }
      }
#pragma unroll
      for (int part = 0; part < kParts; ++part) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
          for (int mt = 0; mt < 2; ++mt) {
            mma(target[mt][nt], a[mt], b[part][nt][2 * step], b[part][nt][2 * step + 1]);
          }
        }
      }
    }
    if constexpr (!kScaledWeights) {
#pragma unroll
      for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          result[mt][nt][0] = fmaf(scale_f32[mt][0], sums[mt][nt][0], result[mt][nt][0]);
          result[mt][nt][1] = fmaf(scale_f32[mt][0], sums[mt][nt][1], result[mt][nt][1]);
          result[mt][nt][2] = fmaf(scale_f32[mt][1], sums[mt][nt][2], result[mt][nt][2]);
          result[mt][nt][3] = fmaf(scale_f32[mt][1], sums[mt][nt][3], result[mt][nt][3]);
        }
      }
    }
  }
}

}  // namespace citadel::runtime::cuda::int4_mma_detail
