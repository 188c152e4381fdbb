// Int4 GEMV for decode batches of 1..4 rows on Hopper: int4_gemv_tc's
// kernel (same work split, math, result, fused epilogue and RMSNorm input)
// with the weights streamed into shared memory by cp.async instead of
// registers, so each warp has up to 16 chunks (16 KB) in flight instead of 4.
//
// Why: the register-direct kernel is limited by the bytes it keeps in
// flight (4 KB per warp, 127 registers: 32-64 KB per multiprocessor, about
// 1-2 TB/s at HBM latency under load); shared memory holds several times
// more. Each lane copies (cp.async.cg, 16 bytes) exactly the words it will
// read into its own slots of its warp's ring, so its own
// cp.async.wait_group is all the synchronization the loop needs (no block
// barrier per stage). The first slots are filled before the kernel waits
// for the previous one (programmatic dependent launch).
//
// A first design (2026-12-02, commit a5ef012) shared a ring of 8 KB stages
// between the block's warps (one __syncthreads per stage, clusters of any
// size 1..8): 1.1-2.1x slower than int4_gemv_tc at batch 1 on every shape
// (bench/README.md), replaced by this one. This one, measured the same day,
// is 1.2-1.4x slower than int4_gemv_tc on every 8B shape at 1, 2 and 4 rows
// (bench/README.md), so GptqLinearCuda takes it only after
// set_int4_gemv_ring_dispatch(true) (bench_llm_decode --ring). Callers:
// GptqLinearCuda, bench/cuda_kernels, [cuda] tests.
#pragma once

#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_tiled.h"
#include "runtime/cuda/linear_epilogue.h"

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4GemvRingMaxRows = 4;  // rows per pass

// True when the current device is sm_90+ and the layer fits the kernel
// (regular groups, at least 4 chunks of 32 inputs, x of a block and two
// ring slots per warp within shared memory).
bool int4_gemv_ring_supported(const Int4TiledWeights& w, int64_t rows);

// y = x[rows, in] · W (+ bias) through `epilogue`, optionally on
// rms_norm(x), in passes of kInt4GemvRingMaxRows rows; as int4_gemv_tc.
void int4_gemv_ring(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
                    const LinearEpilogue& epilogue, void* stream, RmsNormInput norm = {});

// Whether GptqLinearCuda takes this kernel for 1..4 rows where it is
// supported. Off by default: this design has not been timed on a GPU yet
// (bench/README.md, "Int4 GEMV at batch 1..4"); benchmarks and tests turn
// it on (bench_cuda_kernels --ring-plan 1 ..., bench_llm_decode --ring).
void set_int4_gemv_ring_dispatch(bool on);
bool int4_gemv_ring_dispatch();

// Benchmarks only: the largest cluster (default 8), the target blocks per
// multiprocessor (default 2, at most 3) and the most ring slots per warp
// (default 16).
void int4_gemv_ring_tuning(int max_cluster, int blocks_per_multiprocessor, int max_slots);

// Benchmarks and tests: the plan for `rows` rows (cluster blocks per tile,
// ring slots per warp of 1 KB each, dynamic shared memory per block).
struct Int4GemvRingPlan {
  int cluster = 0;
  int stages = 0;
  size_t shared_bytes = 0;
};
Int4GemvRingPlan int4_gemv_ring_plan(const Int4TiledWeights& w, int64_t rows);

}  // namespace citadel::runtime::cuda
