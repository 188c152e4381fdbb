// Bidirectional (non-causal) multi-head attention over dense f32 tensors on
// the CPU, two forms:
//  - sequences of tokens attending to themselves, with an optional decomposed
//    2-D relative-position bias (ViTDet / SAM: the tokens form a grid_h x
//    grid_w map, and logit(q, k) += q·table_h[qy - ky + grid_h - 1] +
//    q·table_w[qx - kx + grid_w - 1], q unscaled). Used by the deepseek-ocr
//    vision encoder (SAM windows and global blocks, CLIP layers);
//  - queries attending to contiguous K/V: out[t, h] = softmax(scale · q[t, h]
//    · K[:, h]ᵀ) · V[:, h], online softmax (one pass over the keys). Used by
//    the vista plugin (a video chunk attending to the cached frames plus
//    itself, and cross-attention to the text).
// fp32 accumulation; the references for GPU versions.
#pragma once

#include "runtime/core/thread_pool.h"

#include <cstdint>

namespace citadel::runtime {

struct RelativePosition2d {
  const float* table_h = nullptr;  // [2 * grid_h - 1, head_dim]
  const float* table_w = nullptr;  // [2 * grid_w - 1, head_dim]
  int64_t grid_h = 0;
  int64_t grid_w = 0;              // grid_h * grid_w == tokens
};

// For each of `sequences` sequences of `tokens` tokens and each head:
//   out = softmax(scale · q kᵀ + bias) v      (fp32, stable softmax)
// Element (s, t, head, d) of q, k and v is at ptr[(s * tokens + t) * row_stride
// + head * head_dim + d] (so q, k, v may be slices of one fused qkv buffer);
// out is [sequences * tokens, heads * head_dim], contiguous, not aliasing them.
// Throws RuntimeError when rel's grid does not cover the tokens.
void dense_attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t row_stride,
                     int64_t sequences, int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out,
                     const RelativePosition2d* rel = nullptr);

// Queries against contiguous K/V (q, out [num_queries, num_heads, head_dim];
// k, v [num_keys, num_heads, head_dim]).
// out must not alias q, k or v.
void dense_attention(ThreadPool& pool, const float* q, int64_t num_queries, const float* k, const float* v,
                     int64_t num_keys, int64_t num_heads, int64_t head_dim, float scale, float* out);

}  // namespace citadel::runtime
