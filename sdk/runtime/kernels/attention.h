// Causal attention for one sequence over a paged KV cache on the CPU.
// KvBlockView describes where one layer's K and V live in the cache pool's
// blocks: block i holds positions [i*tokens_per_block, (i+1)*tokens_per_block);
// inside a block, this layer's K is at k_offset bytes and V at v_offset bytes,
// each laid out [tokens_per_block, num_kv_heads, head_dim] in f16, bf16 or f32.
// kv_block_view_for_layer gives Citadel's standard layout (per layer: K then V).
// Queries of a prefill chunk at positions p0..p0+n-1 (or one decode token)
// attend to positions 0..their own; GQA maps head h to kv head
// h / (num_heads / num_kv_heads). Plain C++ without Boost (CUDA code may
// include it). Used by model plugins; the reference for the CUDA kernel.
#pragma once

#include "runtime/core/dtype.h"
#include "runtime/core/thread_pool.h"

#include <cstddef>
#include <cstdint>

namespace citadel::runtime {

struct KvBlockView {
  void* const* blocks = nullptr;  // block base addresses
  int64_t num_blocks = 0;
  int64_t tokens_per_block = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::f16;  // f16, bf16 or f32
  size_t k_offset = 0;       // bytes from a block's base to this layer's K
  size_t v_offset = 0;       // bytes from a block's base to this layer's V

  int64_t capacity_tokens() const { return num_blocks * tokens_per_block; }
};

// Bytes one token takes per layer, K and V together (for describe()).
size_t kv_bytes_per_token_per_layer(int64_t num_kv_heads, int64_t head_dim, DType dtype);

// The standard layout: a block holds, for layer 0..num_layers-1 in order,
// K [tokens_per_block, kv_heads, head_dim] then V of the same shape.
KvBlockView kv_block_view_for_layer(void* const* blocks, int64_t num_blocks,
                                    int64_t tokens_per_block, int64_t layer,
                                    int64_t num_kv_heads, int64_t head_dim, DType dtype);

// Token slots: a step that writes the K/V of many rows, each at its own
// sequence's position, does it in one launch through a view with one token
// per "block" whose entries are the rows' slots. kv_token_slot is the slot
// of `position` in `blocks` (the standard layout with `tokens_per_block`
// tokens a block); kv_slot_view_for_layer is the view over `num_slots` such
// slots at `layer`'s offsets. llm-gptq's and deepseek-ocr's CUDA passes use
// them with rope_kv_write.
void* kv_token_slot(void* const* blocks, int64_t tokens_per_block, int64_t position, int64_t num_kv_heads,
                    int64_t head_dim, DType dtype);
KvBlockView kv_slot_view_for_layer(void* const* slots, int64_t num_slots, int64_t tokens_per_block, int64_t layer,
                                   int64_t num_kv_heads, int64_t head_dim, DType dtype);

// Writes k and v [num_tokens, num_kv_heads, head_dim] (f32) for positions
// first_position .. first_position+num_tokens-1, converting to kv.dtype.
// Throws when the positions exceed the view's blocks.
void kv_cache_write(const KvBlockView& kv, int64_t first_position, int64_t num_tokens,
                    const float* k, const float* v);

// Reads positions first_position .. first_position+num_tokens-1 back into k
// and v [num_tokens, num_kv_heads, head_dim] (f32). Throws like kv_cache_write.
void kv_cache_read(const KvBlockView& kv, int64_t first_position, int64_t num_tokens, float* k, float* v);

// out[t, h, :] = softmax(scale · q[t, h] · K[0..p_t]ᵀ) · V[0..p_t] with
// p_t = first_position + t. q and out are [num_tokens, num_heads, head_dim]
// f32 (out must not alias q); the cache must already hold positions
// 0..first_position+num_tokens-1. fp32 accumulation.
void paged_attention(ThreadPool& pool, const float* q, int64_t num_tokens, int64_t num_heads,
                     int64_t first_position, const KvBlockView& kv, float scale, float* out);

}  // namespace citadel::runtime
