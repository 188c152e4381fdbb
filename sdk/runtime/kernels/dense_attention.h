// Bidirectional (unmasked) multi-head attention on the CPU over contiguous
// K/V: out[t, h] = softmax(scale · q[t, h] · K[:, h]ᵀ) · V[:, h], q and out
// [num_queries, num_heads, head_dim], k and v [num_keys, num_heads, head_dim],
// all f32, fp32 accumulation with an online softmax (one pass over the keys).
// Used by the vista plugin (a video chunk attending to the cached frames plus
// itself, and cross-attention to the text); the reference for a CUDA kernel.
#pragma once

#include "runtime/core/thread_pool.h"

#include <cstdint>

namespace citadel::runtime {

// out must not alias q, k or v.
void dense_attention(ThreadPool& pool, const float* q, int64_t num_queries, const float* k, const float* v,
                     int64_t num_keys, int64_t num_heads, int64_t head_dim, float scale, float* out);

}  // namespace citadel::runtime
