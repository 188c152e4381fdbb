// CUDA KV-cache writes and causal GQA paged attention (prefill chunks and
// batched decode; head_dim <= 256; fp32 online softmax, one warp per query and
// head) in the CPU's KvBlockView layout (runtime/kernels/attention.h), except
// that KvBlockView::blocks must point to a DEVICE array of device block
// addresses. Called by llm-gptq's CUDA path and the [cuda] tests.
#pragma once

#include "runtime/kernels/attention.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// As runtime::kv_cache_write: k, v [num_tokens, kv_heads, head_dim] f32 on
// the device, written (converted to kv.dtype) at positions first_position.. .
void kv_cache_write(const KvBlockView& kv, int64_t first_position, int64_t num_tokens, const float* k,
                    const float* v, void* stream);

// As runtime::paged_attention for one sequence: q, out [num_tokens, heads,
// head_dim] f32 on the device; query t at position first_position + t
// attends to positions 0..first_position+t.
void paged_attention(const float* q, int64_t num_tokens, int64_t num_heads, int64_t first_position,
                     const KvBlockView& kv, float scale, float* out, void* stream);

// Decode for a batch of sequences, one query token each: q, out [sequences,
// heads, head_dim]; sequence s attends to positions 0..context_lengths[s]-1
// through its block table block_tables[s * max_blocks_per_sequence ...]
// (device arrays). `layout` gives the geometry and offsets; its `blocks` and
// `num_blocks` are ignored.
void paged_attention_decode(const float* q, int64_t num_sequences, int64_t num_heads, const KvBlockView& layout,
                            void* const* block_tables, int64_t max_blocks_per_sequence,
                            const int32_t* context_lengths, float scale, float* out, void* stream);

}  // namespace citadel::runtime::cuda
