// Rows of a ggml-typed device matrix (GgmlDeviceMatrix: Q4_0 .. Q6_K blocks
// as stored) dequantized on the GPU, each value exactly as the CPU's
// runtime::dequantize_row computes it: to f16 (round to nearest even) for
// the tensor-core path of GgmlLinearCuda (prefill: a tile of rows into
// cuBLAS's weight scratch), and to f32 for the embedding lookup of a
// quantized token_embd. One thread per 8-value part (ggml_block_decode.cuh).
// Callers: GgmlLinearCuda, llm-gptq's CUDA embedding, the [cuda] tests. No Boost.
#pragma once

#include "runtime/cuda/ggml_device_matrix.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// out[r, :] = f16(row row_begin + r of w) for r < row_count; out row-major
// [row_count, w.cols] f16 bits on the device.
void ggml_dequantize_rows_f16(const GgmlDeviceMatrix& w, int64_t row_begin, int64_t row_count, uint16_t* out,
                              void* stream);

// out[t, :] = row ids[t] of `table` as f32 (ids on the device, already
// checked to lie in [0, table.rows); one outside gives a row of zeros).
void ggml_embedding_lookup(const GgmlDeviceMatrix& table, const int32_t* ids, int64_t num_ids, float* out,
                           void* stream);

}  // namespace citadel::runtime::cuda
