// The cache-block side of one sequence: growing its block table, prefix
// matching and publishing, preemption (swap out or drop for recomputation)
// and resumption. The scheduler decides *when*; these functions do the
// bookkeeping against the model's CacheSpace so the decisions stay readable.
//
// Called by StepPlanner and ModelScheduler on the scheduler thread.
#pragma once

#include "host/cache/cache_space.h"
#include "host/sched/sequence.h"

#include <span>

namespace citadel::sched {

enum class PreemptionKind { swap, recompute };

// Blocks that cover positions [0, tokens).
inline uint32_t blocks_for(uint32_t tokens, uint32_t tokens_per_block) {
  return (tokens + tokens_per_block - 1) / tokens_per_block;
}

// Grows the block table to cover `tokens` positions. Returns false, having
// allocated nothing, when the space cannot grant the blocks.
bool grow_blocks(cache::CacheSpace& space, Sequence& sequence, uint32_t tokens);

// For a sequence with no blocks: takes the longest cached run of its full
// prompt blocks, leaving at least one known token to compute (the plugin
// must process a token to sample the next one); nothing for a sequence that
// must compute its whole prompt. Returns the tokens matched;
// computed_tokens is set to that.
uint32_t match_prompt_prefix(cache::CacheSpace& space, Sequence& sequence);

// Publishes the full prompt blocks that are now computed, so later requests
// with the same prefix can share them.
void publish_computed_prompt_blocks(cache::CacheSpace& space, Sequence& sequence);

// Releases every block and discards a swap ticket; the sequence holds
// nothing of the space afterwards.
void release_all_blocks(cache::CacheSpace& space, Sequence& sequence);

// Preempts a running sequence: blocks beyond its computed tokens are
// released, the rest swapped to the host tier (state swapped) or, when the
// tier is full or `swap` is false (CITADEL_CACHE_NO_SWAP), released for
// recomputation (computed_tokens = 0, state waiting; the plugin re-prefills
// the tokens it knows).
PreemptionKind preempt_sequence(cache::CacheSpace& space, Sequence& sequence, bool swap = true);

// Brings a swapped sequence's blocks back; false (still swapped) when there
// is no room yet.
bool resume_swapped_sequence(cache::CacheSpace& space, Sequence& sequence);

// The address of each of the sequence's blocks for this step (what the
// plugin gets as block_addresses). `layout_version` is the space's, read
// once for the step: while it is what it was, only the blocks added since
// the last call are looked up, so a decode step costs the host one lookup a
// row every tokens_per_block tokens rather than one a block.
std::span<void* const> step_block_addresses(cache::CacheSpace& space, Sequence& sequence, uint64_t layout_version);

}  // namespace citadel::sched
