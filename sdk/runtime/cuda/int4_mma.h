// Int4 GEMM on tensor cores for batches past a handful of rows (8..24 rows
// f32-exact, then with f16 activations up to
// GptqLinearCuda::int4_mma_f16_max_rows()), on the tiled layout
// (int4_tiled.h): mma.sync m16n8k16 with f16 operands and f32 accumulation,
// the weights dequantized in registers from the packed nibbles.
// Activations f32_exact: the weight operand is the exact integer (q - z),
// the group scale is applied in f32 per 32-input chunk and x is split into
// two f16 parts x = hi + lo (|x - hi - lo| ~ 2^-22 |x|), each multiplied, so
// the result is the f32 GEMV's to f32 rounding (passes of 32 rows).
// Activations f16: x is rounded to f16 once and the weight operand is
// (q - z) * scale rounded to f16 once, as the dequantize + cuBLAS path
// rounds both: half the tensor-core work, and the tensor cores accumulate
// with no per-chunk scaling; passes of 64 rows. The inputs are split so
// that the blocks fill one wave (occupancy of the kernel instance), at
// most 8 ways: the splits of a column tile form a thread-block cluster
// (Hopper; no split before it) and add up their sums through distributed
// shared memory, each block then finishing a share of the rows with the
// layer's epilogue (int4_split_reduce.cuh). Deterministic. On sm_90a
// devices both modes can run on warpgroup MMA instead (int4_wgmma.h,
// int4_mma_set_wgmma), with the same splits, reduction and rounding.
//
// Work split: a block of 4 warps owns one 128-column tile and a split of
// the inputs, walked in stages of 64 inputs (weights, scales, zeros and the
// x halves copied to shared memory with cp.async, three stages in flight);
// warp w computes columns 32w..32w+31 (two 16-row A tiles) for up to 32 rows
// of x (four 8-column B tiles; 64 rows and eight with f16 activations). x is first
// converted (and permuted by input_perm) into `x_halves` ([2][32][in] f16,
// or [64][in]), each group of 8 inputs in the order the fragments take
// them (int4_mma_stage.cuh). Callers: GptqLinearCuda, the [cuda] tests, bench/cuda_kernels.
// No Boost.
#pragma once

#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstddef>
#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4MmaRowsPerPass = 32;     // f32_exact
inline constexpr int64_t kInt4MmaF16RowsPerPass = 64;  // f16

enum class Int4MmaActivations { f32_exact, f16 };

// True when the layer's input count is a multiple of 64 (whole stages).
bool int4_mma_supported(const Int4TiledWeights& w);

// f16 elements of the x_halves scratch that int4_mma needs.
size_t int4_mma_scratch_halves(const Int4TiledWeights& w, Int4MmaActivations activations = Int4MmaActivations::f32_exact);

// As int4_gemv (int4_gemv.h), any number of rows (passes of 32 or 64).
void int4_mma(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
              const LinearEpilogue& epilogue, uint16_t* x_halves, void* stream,
              Int4MmaActivations activations = Int4MmaActivations::f32_exact);

// Both modes run on the wgmma kernel (int4_wgmma.h) where it is available
// (sm_90a devices) while this is on; off (the default), on the mma.sync
// kernel everywhere. H200, Llama-3-8B layers at 8-64 rows: the wgmma kernel
// is 3-35% slower (bench/README.md "Int4 GEMM on wgmma"). Process-wide; the
// [cuda] tests and benchmarks compare both.
void int4_mma_set_wgmma(bool on);
bool int4_mma_wgmma();

// Benchmarks only: the least number of 64-input stages per split of the
// inputs (default 4; more means fewer splits, less to reduce), the blocks
// per multiprocessor the splits aim at (default 0: as many as are resident)
// and the largest split count (1..8, default 8).
void int4_mma_tuning(int min_stages_per_split, int blocks_per_multiprocessor = 0, int most_splits = 8);

}  // namespace citadel::runtime::cuda
