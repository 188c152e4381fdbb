// GEMV / small-batch GEMM over ggml-typed weights as GGUF stores them
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K; GgmlDeviceMatrix, rows
// padded to 16 bytes): y[t, r] (+)= sum_i x[t, i] * W[r, i] (+ bias[r]) for
// t < m <= kGgmlGemvMaxRows, f32 activations, blocks dequantized in
// registers, f32 accumulation.
//
// Work split: a CTA of 4 warps, each warp owns R consecutive weight rows
// (R = 4, or 2 when that leaves too few CTAs for the GPU) and walks their
// whole length in steps of 512 values. Per step the warp copies the rows'
// step bytes (a 16-byte aligned window) from global memory with coalesced
// 128-bit loads into its slice of shared memory, one step ahead of the
// compute (register prefetch); each lane then decodes two 8-value parts
// (ggml_block_decode.cuh) of every row, reads the matching 8 activations of
// each token once (float4 loads) for all R rows, and accumulates
// a * sum(q x) + b * sum(x) per run of 4. The 32 lanes' sums are combined
// by a butterfly reduction (deterministic). m > 8 runs in passes of 8.
// Callers: GgmlLinearCuda, the [cuda] tests, bench/cuda_kernels. No Boost.
#pragma once

#include "runtime/cuda/ggml_device_matrix.h"

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kGgmlGemvMaxRows = 16;

// x: f32 [m, w.cols] (device); y: f32 with row stride ldy (device), written
// at y[t * ldy + r], or added to when `accumulate`; bias f32 [w.rows] or
// null. m in [0, kGgmlGemvMaxRows]; y must not alias x.
void ggml_gemv(const GgmlDeviceMatrix& w, const float* x, int64_t m, const float* bias, float* y, int64_t ldy,
               bool accumulate, void* stream);

}  // namespace citadel::runtime::cuda
