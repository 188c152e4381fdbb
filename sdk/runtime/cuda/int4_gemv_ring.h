// Int4 GEMV for decode batches of 1..4 rows on Hopper that streams the
// weights through a shared-memory ring (cp.async, up to 16 stages of 8 KB
// per block in flight) instead of registers, on the tiled layout
// (int4_tiled.h), with the same math, result and fused epilogue / RMSNorm
// input as int4_gemv_tc.h (whose per-warp mma.sync fragments it reuses).
//
// Why: the register-direct kernel keeps 4 KB per warp in flight and its
// blocks wait on several DRAM round trips; here every block issues its
// ring (up to all of its weight bytes, e.g. 64 KB for o_proj) before it
// even waits for the previous kernel (programmatic dependent launch), so
// each multiprocessor has 64-128 KB of weights in flight.
//
// Work split: a block owns one 128-column tile and a contiguous range of
// its 32-input chunks (the tile's inputs split over a thread-block cluster
// of S blocks, S = 1..8 chosen per shape so the grid fills the
// multiprocessors evenly; the S partial sums are added by the cluster's
// first block through distributed shared memory, in a fixed order). Its 8
// warps: half (w % 2) of the tile and slice w / 2 of the range; ring stage
// s holds chunk s of each of the 4 slices, copied 16 bytes a thread and
// placed so that a warp's reads of a chunk are 512 contiguous bytes (no
// bank conflicts). Callers: GptqLinearCuda, bench/cuda_kernels, [cuda] tests.
#pragma once

#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4GemvRingMaxRows = 4;  // rows per pass

// True when int4_gemv_ring_enabled(), the current device is sm_90+ and
// the layer fits (regular groups, x of a block within shared memory).
bool int4_gemv_ring_supported(const Int4TiledWeights& w, int64_t rows);

// y = x[rows, in] · W (+ bias) through `epilogue`, optionally on
// rms_norm(x), in passes of kInt4GemvRingMaxRows rows; as int4_gemv_tc.
void int4_gemv_ring(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
                    const LinearEpilogue& epilogue, void* stream, RmsNormInput norm = {});

// Benchmarks only: whether GptqLinearCuda may pick this kernel (default
// on), the largest cluster (default 8), the per-block cost in chunks the
// grid plan charges (default 4) and the most ring stages (default 16).
void int4_gemv_ring_tuning(bool enabled, int max_cluster, int block_overhead_chunks, int max_stages);
bool int4_gemv_ring_enabled();

// Benchmarks and tests: the plan for `rows` rows (cluster blocks per tile, ring stages).
struct Int4GemvRingPlan {
  int cluster = 0;
  int stages = 0;
  size_t shared_bytes = 0;
};
Int4GemvRingPlan int4_gemv_ring_plan(const Int4TiledWeights& w, int64_t rows);

}  // namespace citadel::runtime::cuda
