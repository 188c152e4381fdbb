// rope_kv_write: one kernel for what apply_rope (q and k) and kv_cache_write
// do at each layer of a step, with the same arithmetic (rotate-half RoPE,
// accurate sinf/cosf, round-to-nearest into the cache dtype): q is rotated
// in place; k is rotated on the way into the cache (the k buffer is left as
// it was); v is copied into the cache. Token t of the step goes to the slot
// of `slots` (a KvBlockView with one token per "block": blocks[t] is the
// address of token t's block row, as llm-gptq's CUDA path builds it).
// Called by llm-gptq's CUDA forward pass and the [cuda] tests. No Boost.
#pragma once

#include "runtime/kernels/attention.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// q [tokens, heads, head_dim], k and v [tokens, kv_heads, head_dim] f32 on
// the device; positions[t] (device); inv_freq as apply_rope (rotary_half
// entries, 2 * rotary_half <= head_dim); slots.tokens_per_block must be 1.
void rope_kv_write(float* q, const float* k, const float* v, int64_t tokens, int64_t heads,
                   const int32_t* positions, const float* inv_freq, int64_t rotary_half, const KvBlockView& slots,
                   void* stream);

}  // namespace citadel::runtime::cuda
