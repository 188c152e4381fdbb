// Int4 GEMV/small GEMM on tensor cores straight from registers, for decode
// batches (1..16 rows per pass), on the tiled layout (int4_tiled.h), with
// the result of the f32 GEMV to f32 rounding and the layer's epilogue
// (linear_epilogue.h), optionally after the RMSNorm of x (RmsNormInput).
// Hopper (sm_90) and regular groups (chunk c in group c / chunks_per_group)
// only: int4_gemv_tc_supported says when it runs; GptqLinearCuda falls back
// to int4_gemv / int4_mma.
//
// How: mma.sync m16n8k16 (f16 x f16 -> f32) where A is the exact integer
// (q - z) of 16 columns x 16 inputs, dequantized in registers from the
// 16-byte words each lane loads (no shared-memory copy of the weights), and
// B holds x split into two f16 parts, x = hi + lo (|x - hi - lo| ~ 2^-22 |x|),
// so one 8-column B tile carries 4 rows of x (hi and lo side by side). The
// group scale is applied in f32 once per group. Each lane (g = lane / 4,
// t = lane % 4) loads the 16 bytes of columns 4g..4g+3 of packed row t of a
// 32-input chunk: a warp reads 4 x 128 contiguous bytes per load.
//
// Work split: a block of 8 warps owns one 128-column tile and a range of
// chunks; warp w takes half (w % 2) of the tile (64 columns) and slice
// w / 2 of the block's chunks (contiguous, four chunks in flight in
// registers; the next group's scales and zeros loaded as a group starts).
// 1..4 rows: 2 blocks per SM; 5..16 rows: 1. x of the block's range is staged in
// shared memory once (permuted by input_perm, split, in B-fragment order).
// Long inputs are split over a thread-block cluster of up to 8 blocks whose
// sums are added by the cluster's first block through distributed shared
// memory (fixed order: deterministic, no atomics, no global partials).
// Launched with programmatic dependent launch: the weights of the first
// chunks are loaded before waiting for the previous kernel
// (dependent_launch.cuh). Callers: GptqLinearCuda, bench/cuda_kernels. No Boost.
#pragma once

#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4GemvTcMaxRows = 16;  // rows per pass

// Optional RMSNorm of each row of x before the product (the layer norm that
// precedes a projection, fused): x[r, k] / sqrt(mean_k(x[r, k]^2) + eps)
// * weight[k], k in the original input order. Every block computes the
// row's sum of squares itself (same order in every block).
struct RmsNormInput {
  const float* weight = nullptr;  // device f32 [in]; null: no norm
  float eps = 0.0f;
};

// True when the current device is sm_90+ and the layer fits the kernel
// (x of a block's inputs within its shared memory at `rows` rows per pass).
bool int4_gemv_tc_supported(const Int4TiledWeights& w, int64_t rows);

// y = x[rows, in] · W (+ bias[columns], tiled column order) through
// `epilogue`, in passes of kInt4GemvTcMaxRows rows. x is f32 [rows, in] on
// the device, original input order. Needs no scratch.
void int4_gemv_tc(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
                  const LinearEpilogue& epilogue, void* stream, RmsNormInput norm = {});

// Benchmarks only: the grid plan's target blocks per multiprocessor
// (default 2), largest cluster (default 8, at most 8), whether launches may
// overlap the previous kernel (programmatic dependent launch, default on,
// dependent_launch.h) and the rows per pass (default 16).
void int4_gemv_tc_tuning(int blocks_per_multiprocessor, int max_cluster, bool dependent_launch, int pass_rows);

}  // namespace citadel::runtime::cuda
