// Int4 GEMV for decode (1..8 rows per launch, more in passes of 8) on the
// tiled layout (int4_tiled.h), f32 activations and f32 accumulation, with
// the layer's epilogue (linear_epilogue.h: segmented store, residual add,
// SiLU·mul) applied after a deterministic split-K reduction.
//
// Work split: a block of 8 warps owns one 128-column tile and a range of
// 32-input chunks (split-K over blockIdx.y, sized to fill the GPU); it
// stages its inputs of x in shared memory (permuted by input_perm, each
// pre-scaled by an exact power of two, see int4_gemv.cu); warps take chunks
// round robin, lane l owns columns 4l..4l+3 and loads 16 bytes per packed
// row, two or three chunks in flight per warp (fixed register buffers);
// scales and zeros of a chunk come with its weights (the group is computed
// from the chunk index when the groups are regular). Split partials
// go to `partials` [splits, rows, padded_columns]; the last block of a tile
// (a per-tile counter, reset by that block) sums them in split order.
// Callers: GptqLinearCuda, bench/cuda_kernels. No Boost.
#pragma once

#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4GemvMaxRows = 8;

// Scratch the GEMV needs for `rows` rows (per launch: rows <= 8).
struct Int4GemvScratchSize {
  size_t partial_floats = 0;
  size_t counters = 0;
};
Int4GemvScratchSize int4_gemv_scratch_size(const Int4TiledWeights& w, int64_t rows);

// y = x[rows, in] · W (+ bias[columns], tiled column order) through
// `epilogue`. x is f32 [rows, in] on the device (original input order).
// `partials` and `counters` as int4_gemv_scratch_size says; counters must be
// zero before the first call (each call leaves them zero).
void int4_gemv(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
               const LinearEpilogue& epilogue, float* partials, int32_t* counters, void* stream);

}  // namespace citadel::runtime::cuda
