// Bidirectional attention through cuBLAS: the scores of a batch of
// (sequence, head) pairs by one strided-batched GEMM (f32 data, TF32 tensor
// cores, f32 accumulation), the optional decomposed 2-D relative-position
// bias of SAM and the softmax by one kernel, then P·V by a second batched
// GEMM. Same arguments, layouts and results (within TF32 rounding, a scaled
// error near 1e-3) as dense_attention (vision_kernels.h), whose
// one-block-per-query kernel rereads all keys for every query: this is its
// fast path. One sequence is batched over its heads; many (ViTDet windows)
// over the sequences, head by head. The scores of as many pairs as fit in
// the caller's scratch are held at once (tokens² floats each; at least one).
// Called by the deepseek-ocr CUDA DeepEncoder (every SAM block, CLIP) and
// the [cuda] tests.
#pragma once

#include "runtime/cuda/cublas_matmul.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// Scratch floats of the scores of one (sequence, head) pair.
inline int64_t gemm_attention_head_floats(int64_t tokens) { return tokens * tokens; }

// For each of `sequences` sequences and each head: out = softmax(scale q kᵀ +
// bias) v, q/k/v rows at ptr[(s * tokens + t) * row_stride + head *
// head_dim], out [sequences * tokens, heads * head_dim]. table_h/table_w
// (device, [2 grid - 1, head_dim]) may be null (no bias); otherwise grid_h *
// grid_w == tokens and bias[t, j] = q_t · table_h[t_y - j_y + grid_h - 1] +
// q_t · table_w[t_x - j_x + grid_w - 1] (q unscaled). `scores` holds
// `scores_floats` >= gemm_attention_head_floats(tokens) floats.
void gemm_attention(CublasContext& context, const float* q, const float* k, const float* v, int64_t row_stride,
                    int64_t sequences, int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out,
                    const float* table_h, const float* table_w, int64_t grid_h, int64_t grid_w, float* scores,
                    int64_t scores_floats, void* stream);

}  // namespace citadel::runtime::cuda
