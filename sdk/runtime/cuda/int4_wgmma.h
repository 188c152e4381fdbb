// The int4 GEMM on Hopper's warpgroup tensor cores (wgmma, sm_90a): what
// int4_mma computes in both its modes (f32-exact, f16 activations), on the same
// tiled layout, stage copies and dequantization, with the weights as the
// A operand (dequantized in registers, 64 columns a wgmma, two per
// 128-column tile) and x as the B operand read by the tensor cores
// straight from shared memory, so a warp issues one instruction per 16
// inputs and 64 columns instead of one mma.sync per 16 columns and 8 rows.
// In f32-exact mode the wgmmas sum each 32-input chunk over x hi and lo with
// the exact (q - z) into registers of their own, which the warp scales in
// f32 into the result once the next chunk's wgmmas are issued. int4_mma
// (int4_mma.h) calls it where it is available and int4_mma_wgmma() is on
// (off by default: slower than the mma.sync kernel on the H200 so far);
// the split plan and cluster reduction are int4_mma's. Built for sm_90a
// alone (sm90a/int4_wgmma.cu). No Boost.
#pragma once

#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// True on a compute capability 9.0 device whose sm_90a kernel image loaded.
bool int4_wgmma_available();

// The rows one launch covers for a pass of `rows` (1..64 in f16 mode, 1..32
// f32-exact): 8, 16, 32 or 64; x_halves holds that many rows of f16 (twice
// as many, hi then lo, f32-exact), the rest zero.
int int4_wgmma_rows_tile(int64_t rows);

// Resident blocks per multiprocessor of the kernel instance for rows_tile.
int int4_wgmma_blocks_per_multiprocessor(int rows_tile, Int4MmaActivations activations);

struct Int4WgmmaPass {
  int64_t row0 = 0;      // first row of x (and of the epilogue's outputs)
  int32_t rows = 0;      // 1..64 (f16), 1..32 (f32-exact)
  int32_t stages_per_split = 0;  // 64-input stages per block
  int32_t splits = 1;    // blocks of a column tile (one cluster, at most 8)
};

// y = x[row0 .. row0 + rows) . W as int4_mma computes it in `activations`,
// then bias and the epilogue.
void int4_wgmma(const Int4TiledWeights& w, const float* x, const Int4WgmmaPass& pass, const float* bias,
                const LinearEpilogue& epilogue, uint16_t* x_halves, void* stream, Int4MmaActivations activations);

}  // namespace citadel::runtime::cuda
