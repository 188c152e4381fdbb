// Paged attention as flash decoding, for f16 KV caches in the KvBlockView
// layout (runtime/kernels/attention.h: per block K [tokens, kv_heads,
// head_dim] then V) with head_dim 32/64/128/256 and up to 8 query heads per
// KV head. Each row (a query token with its own block table and length)
// attends to positions 0..length-1. Work split: one block of 4 warps per
// (KV head, row, split of the positions); the block handles all query heads
// of its KV head, so each K/V vector is read once. On sm_80 and later, for
// head_dim 32/64/128, each warp streams chunks of 16 positions through a
// cp.async ring in shared memory and scores them and adds P.V on tensor
// cores (flash_decode_mma.cuh). Otherwise (head_dim 256, older GPUs) the
// CUDA-core kernel: a position is shared by a group of 8 lanes (16 or 32
// for wide heads or groups), each holding an equal run of its dimensions,
// so a warp scores 4 positions at once with 3 shuffles per score and keeps
// 2-4 such passes of K/V in flight; each lane group keeps its own online
// softmax, rescaled once per pass. In both the warps are combined at the
// end of the block (flash_decode_block.cuh). With more than one split, the
// partial (max, sum, unnormalized output) of each split goes to scratch and
// a second kernel combines them. Other layouts (f32
// cache, odd head_dim, wider groups) fall back to paged_attention_decode.
// Called by llm-gptq's CUDA path and the [cuda] tests. No Boost.
#pragma once

#include "runtime/kernels/attention.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// Splits of the positions for `rows` rows of `num_kv_heads` KV heads of
// `head_dim` and contexts up to `max_context` positions: for the
// tensor-core kernel as many as keep the blocks within two waves of resident
// blocks, for the CUDA-core kernel about 4 blocks per multiprocessor
// (depends on these numbers and the device only, so a captured graph stays
// valid while they do).
int64_t flash_decode_splits(int64_t rows, int64_t num_kv_heads, int64_t head_dim, int64_t max_context);
// Floats of scratch flash_decode needs (0 when splits == 1).
size_t flash_decode_scratch_floats(int64_t rows, int64_t num_heads, int64_t head_dim, int64_t splits);
// Whether head_dim 32/64/128 take the tensor-core kernel where the GPU has
// one (default true; process-wide). For the benchmarks and tests that set
// the two kernels side by side.
void set_flash_decode_tensor_cores(bool enabled);
// Benchmarks only: the waves of resident blocks the tensor-core kernel's
// splits may fill (default 2).
void flash_decode_split_tuning(int waves);
// True when flash_decode takes this layout (else it falls back).
bool flash_decode_supported(const KvBlockView& layout, int64_t num_heads);

// As paged_attention_decode (q, out [rows, heads, head_dim] f32; tables and
// lengths device arrays; every length <= max_context), with `splits` from
// flash_decode_splits and `scratch` of flash_decode_scratch_floats floats.
void flash_decode(const float* q, int64_t rows, int64_t num_heads, const KvBlockView& layout,
                  void* const* block_tables, int64_t max_blocks_per_row, const int32_t* context_lengths,
                  int64_t max_context, int64_t splits, float scale, float* scratch, float* out, void* stream);

}  // namespace citadel::runtime::cuda
