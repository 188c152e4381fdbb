// Matrix products over ggml-typed weights as GGUF files store them (the
// block formats of ggml_blocks.h, and F32/F16/BF16), used as they are: no
// re-quantization or conversion at load. y[m, out] = x[m, in] · Wᵀ (+ bias)
// with f32 activations and fp32 accumulation; W is a GgmlMatrix [out, in].
// Work is split over blocks of output rows on the thread pool; each row's
// blocks are dequantized a chunk at a time into an L1-sized f32 buffer and
// dotted with every token (so a batch costs little more than one token);
// AVX2 dequantization of Q4_0/Q4_1/Q8_0 when the CPU has it, the portable
// dequantize_row (the bit-exact reference) otherwise; one token of
// Q4_0/Q4_1/Q8_0 runs fused four-row dots and batches an AVX-512 register
// tile where the CPU has AVX-512 (chosen at run time; f32 throughout).
// Used by llm-gptq's GGUF projections (lm_head included); the reference for
// CUDA kernels of the same formats. Thread-safe (no state).
#pragma once

#include "runtime/core/thread_pool.h"
#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>

namespace citadel::runtime {

// `row_order` (may be null; `out` entries) makes output row r read stored
// row row_order[r] (e.g. to undo llama.cpp's Q/K row permutation). `bias`
// may be null. `y` must not alias `x`. Throws for unsupported types.
void ggml_matmul(ThreadPool& pool, const float* x, int64_t m, const GgmlMatrix& weight, float* y,
                 const float* bias = nullptr, const int32_t* row_order = nullptr);

// Rows `ids[0..count)` of `table` ([vocab, hidden]) dequantized into
// out[count, hidden]; throws for ids outside the table.
void ggml_rows(const GgmlMatrix& table, const int32_t* ids, int64_t count, float* out);

}  // namespace citadel::runtime
