// Int4 GEMM on tensor cores for batches past a handful of rows (9..64 in
// GptqLinearCuda), on the tiled layout (int4_tiled.h), with the same result
// as the f32 GEMV to f32 rounding: mma.sync m16n8k16 with f16 operands and
// f32 accumulation, where the weight operand is the exact integer (q - z)
// (dequantized in registers from the packed nibbles) and x is split into
// two f16 parts x = hi + lo (|x - hi - lo| ~ 2^-22 |x|), each multiplied; the
// group scale is applied in f32 per 32-input chunk. Then the split-K
// reduction and the layer's epilogue of int4_split_reduce.cuh.
//
// Work split: a block of 4 warps owns one 128-column tile and a split of
// the inputs, walked in stages of 64 inputs (weights, scales, zeros and the
// x halves copied to shared memory with cp.async, three stages in flight);
// warp w computes columns 32w..32w+31 (two 16-row A tiles) for up to 32 rows
// of x (four 8-column B tiles). x is first converted (and permuted by
// input_perm) into `x_halves` [2][32][in] f16. Callers: GptqLinearCuda. No Boost.
#pragma once

#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstddef>
#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4MmaRowsPerPass = 32;

// True when the layer's input count is a multiple of 64 (whole stages).
bool int4_mma_supported(const Int4TiledWeights& w);

struct Int4MmaScratchSize {
  size_t partial_floats = 0;
  size_t counters = 0;
  size_t x_halves = 0;  // f16 elements
};
Int4MmaScratchSize int4_mma_scratch_size(const Int4TiledWeights& w, int64_t rows);

// As int4_gemv (int4_gemv.h), any number of rows (passes of 32).
void int4_mma(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
              const LinearEpilogue& epilogue, uint16_t* x_halves, float* partials, int32_t* counters, void* stream);

}  // namespace citadel::runtime::cuda
