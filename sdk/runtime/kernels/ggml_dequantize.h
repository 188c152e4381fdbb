// Dequantization of ggml tensor rows (F32, F16, BF16 and the block formats of
// ggml_blocks.h) to f32, bit-identical to the `gguf` PyPI package's numpy
// reference (gguf.quants.dequantize): the same f32 operations in the same
// order, no fused multiply-add. The reference the block matmul kernels and
// CUDA kernels are tested against; used by the embedding lookup of GGUF
// models and by tests. Thread-safe (pure functions).
#pragma once

#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>

namespace citadel::runtime {

// out[0..n) = the first n values stored at `data` in `type`; n must be a
// multiple of the type's block size (throws RuntimeError otherwise, or for
// a type Citadel does not read).
void dequantize_row(GgmlType type, const void* data, int64_t n, float* out);

// Bytes that n values of `type` occupy (n a multiple of the block size).
int64_t ggml_row_bytes(GgmlType type, int64_t n);

}  // namespace citadel::runtime
