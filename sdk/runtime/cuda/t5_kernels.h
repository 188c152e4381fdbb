// CUDA pieces of a T5 / UMT5 encoder layer that the generic kernels lack:
//  - t5_attention: self-attention with T5's unscaled dot products plus a
//    per-head relative-position bias looked up through a bucket table, all
//    in f32: the scores of a batch of heads by one strided-batched cuBLAS
//    GEMM (CUBLAS_COMPUTE_32F, no TF32: T5 logits are unscaled and large),
//    one kernel adding the bias and taking the row softmax (max-subtracted,
//    accurate expf, as runtime::softmax), then P·V by a second batched GEMM;
//  - gated_gelu_tanh_bf16: T5's gated-GELU feed-forward activation
//    gelu_tanh(gate) * up on the fused wi_0|wi_1 GEMM result, written as
//    the bf16 operand of the wo GEMM (matmul_bf16_input), optionally split
//    in a high and a low bf16 part as float_to_bf16_split (layer_kernels.h).
// All pointers are device pointers; work is queued on `stream` (a
// cudaStream_t); errors throw RuntimeError. Called by the vista plugin's
// CudaUmt5Encoder (plugins/vista/umt5_encoder_cuda.cpp); tested through
// tests/vista/umt5_cuda_test.cpp against the CPU encoder.
#pragma once

#include "runtime/cuda/cublas_matmul.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// Scratch floats of the scores of one head.
inline int64_t t5_attention_head_floats(int64_t tokens) { return tokens * tokens; }

// For each head h and query i < tokens:
//   out[i, h*head_dim + c] = Σ_j softmax_j(q_i·k_j + relative_bias[b(j - i) * heads + h]) v[j, h*head_dim + c]
// with b(r) = buckets[r + tokens - 1] (buckets: `2 tokens - 1` int32 bucket
// indices, each < num_buckets; relative_bias [num_buckets, heads] f32).
// q/k/v rows at ptr[t * row_stride + h * head_dim]; out [tokens, heads *
// head_dim] (must not alias q/k/v). `scores` holds `scores_floats` >=
// t5_attention_head_floats(tokens) floats: as many heads as fit are done
// per batched GEMM.
void t5_attention(CublasContext& context, const float* q, const float* k, const float* v, int64_t row_stride,
                  int64_t tokens, int64_t heads, int64_t head_dim, const float* relative_bias,
                  const int32_t* buckets, float* out, float* scores, int64_t scores_floats, void* stream);

// g = gelu_tanh(hidden[r, c]) * hidden[r, ff + c] for r < rows, c < ff
// (hidden [rows, 2 ff] f32: gate columns, then up): high[r, c] = bf16(g) and,
// when low is not null, low[r, c] = bf16(g - high[r, c]); both [rows, ff].
void gated_gelu_tanh_bf16(const float* hidden, int64_t rows, int64_t ff, uint16_t* high, uint16_t* low,
                          void* stream);

}  // namespace citadel::runtime::cuda
