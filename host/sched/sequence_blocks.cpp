#include "host/sched/sequence_blocks.h"

#include <algorithm>

namespace citadel::sched {

bool grow_blocks(cache::CacheSpace& space, Sequence& sequence, uint32_t tokens) {
  const uint32_t needed = blocks_for(tokens, space.geometry().tokens_per_block);
  if (needed <= sequence.blocks.size()) return true;
  return space.allocate(needed - static_cast<uint32_t>(sequence.blocks.size()), sequence.blocks);
}

uint32_t match_prompt_prefix(cache::CacheSpace& space, Sequence& sequence) {
  if (!sequence.blocks.empty() || sequence.known_tokens == 0 || sequence.compute_whole_prompt) return 0;
  const uint32_t tokens_per_block = space.geometry().tokens_per_block;
  const size_t limit = std::min<size_t>(sequence.prompt_hashes.size(),
                                        (sequence.known_tokens - 1) / tokens_per_block);
  if (limit == 0) return 0;
  const uint32_t matched = space.match_prefix(
      std::span<const cache::PrefixHash>(sequence.prompt_hashes.data(), limit), sequence.blocks);
  sequence.computed_tokens = matched * tokens_per_block;
  sequence.published_blocks = std::max(sequence.published_blocks, matched);
  return sequence.computed_tokens;
}

void publish_computed_prompt_blocks(cache::CacheSpace& space, Sequence& sequence) {
  const uint32_t tokens_per_block = space.geometry().tokens_per_block;
  const size_t full_blocks = std::min<size_t>(
      {sequence.prompt_hashes.size(), sequence.computed_tokens / tokens_per_block, sequence.blocks.size()});
  for (size_t i = sequence.published_blocks; i < full_blocks; ++i) {
    space.publish_prefix(sequence.blocks[i], sequence.prompt_hashes[i]);
  }
  sequence.published_blocks = std::max<uint32_t>(sequence.published_blocks, static_cast<uint32_t>(full_blocks));
}

void release_all_blocks(cache::CacheSpace& space, Sequence& sequence) {
  if (!sequence.blocks.empty()) space.release(sequence.blocks);
  sequence.blocks.clear();
  sequence.block_addresses.clear();
  if (sequence.swapped) space.discard_swapped(*sequence.swapped);
  sequence.swapped.reset();
}

namespace {
void trim_to_computed(cache::CacheSpace& space, Sequence& sequence) {
  const uint32_t keep = blocks_for(sequence.computed_tokens, space.geometry().tokens_per_block);
  if (sequence.blocks.size() <= keep) return;
  std::vector<cache::BlockId> extra(sequence.blocks.begin() + keep, sequence.blocks.end());
  sequence.blocks.resize(keep);
  if (sequence.block_addresses.size() > keep) sequence.block_addresses.resize(keep);
  space.release(extra);
}
}  // namespace

PreemptionKind preempt_sequence(cache::CacheSpace& space, Sequence& sequence, bool swap) {
  trim_to_computed(space, sequence);
  if (!sequence.blocks.empty()) {
    if (auto ticket = swap ? space.swap_out(sequence.blocks) : std::nullopt) {
      sequence.swapped = *ticket;
      sequence.blocks.clear();
      sequence.block_addresses.clear();
      sequence.state = SequenceState::swapped;
      return PreemptionKind::swap;
    }
    space.release(sequence.blocks);
    sequence.blocks.clear();
    sequence.block_addresses.clear();
  }
  sequence.computed_tokens = 0;
  // Blocks published before stay cached under their hashes; a re-admission
  // matches them again, so only later ones need publishing.
  sequence.published_blocks = 0;
  sequence.state = SequenceState::waiting;
  return PreemptionKind::recompute;
}

bool resume_swapped_sequence(cache::CacheSpace& space, Sequence& sequence) {
  if (!sequence.swapped) return true;
  std::vector<cache::BlockId> restored;
  if (!space.swap_in(*sequence.swapped, restored)) return false;
  sequence.blocks = std::move(restored);
  sequence.block_addresses.clear();  // new ids
  sequence.swapped.reset();
  sequence.state = SequenceState::running;
  return true;
}

std::span<void* const> step_block_addresses(cache::CacheSpace& space, Sequence& sequence, uint64_t layout_version) {
  std::vector<void*>& addresses = sequence.block_addresses;
  if (sequence.addresses_layout != layout_version || addresses.size() > sequence.blocks.size()) {
    addresses.clear();
    sequence.addresses_layout = layout_version;
  }
  const size_t known = addresses.size();
  if (known < sequence.blocks.size()) {
    addresses.resize(sequence.blocks.size());
    space.addresses(std::span<const cache::BlockId>(sequence.blocks).subspan(known),
                    std::span<void*>(addresses).subspan(known));
  }
  return addresses;
}

}  // namespace citadel::sched
