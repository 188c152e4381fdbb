// DevicePool, swap side: preempted requests' blocks go to the host tier and
// come back into freshly allocated blocks, through the backend's copy stream.
#include "host/cache/device_pool.h"

namespace citadel::cache {

std::optional<SwappedBlocks> DevicePool::swap_out(uint64_t space_id, std::span<const BlockId> blocks) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  for (BlockId block : blocks) live_block(space, block, "swap_out");
  if (!swap_tier_ || blocks.empty()) return std::nullopt;
  const size_t bytes = space.geometry.block_bytes;
  std::optional<uint64_t> ticket = swap_tier_->reserve(space.id, static_cast<uint32_t>(blocks.size()), bytes);
  if (!ticket) return std::nullopt;
  const std::vector<void*>& regions = swap_tier_->regions(space.id, *ticket);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const BlockEntry& entry = space.blocks[blocks[i]];
    backend_->copy_to_host(regions[i], slot_address(space, entry.slab, entry.slot), bytes);
  }
  backend_->synchronize();
  try {
    release_locked(space, blocks, true);  // validates (e.g. a block listed more often than referenced) first
  } catch (...) {
    swap_tier_->release(space.id, *ticket);
    throw;
  }
  space.tickets.insert(*ticket);
  space.swapped_bytes += uint64_t{bytes} * blocks.size();
  space.counters.swaps_out += blocks.size();
  maybe_request_gc(space);
  return SwappedBlocks{*ticket, static_cast<uint32_t>(blocks.size())};
}

bool DevicePool::swap_in(uint64_t space_id, const SwappedBlocks& swapped, std::vector<BlockId>& out) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  if (space.tickets.count(swapped.ticket) == 0) {
    throw std::invalid_argument("swap_in: ticket " + std::to_string(swapped.ticket) + " is not held by model '" +
                                space.model + "'");
  }
  const std::vector<void*>& regions = swap_tier_->regions(space.id, swapped.ticket);
  if (regions.size() != swapped.num_blocks) {
    throw std::invalid_argument("swap_in: ticket " + std::to_string(swapped.ticket) + " of model '" + space.model +
                                "' holds " + std::to_string(regions.size()) + " blocks, not " +
                                std::to_string(swapped.num_blocks));
  }
  if (!ensure_room(space, swapped.num_blocks)) return false;
  const size_t bytes = space.geometry.block_bytes;
  out.reserve(out.size() + swapped.num_blocks);
  for (uint32_t i = 0; i < swapped.num_blocks; ++i) {
    BlockId block = take_slot(space);
    const BlockEntry& entry = space.blocks[block];
    backend_->copy_from_host(slot_address(space, entry.slab, entry.slot), regions[i], bytes);
    out.push_back(block);
  }
  backend_->synchronize();
  swap_tier_->release(space.id, swapped.ticket);
  space.tickets.erase(swapped.ticket);
  space.swapped_bytes -= uint64_t{bytes} * swapped.num_blocks;
  space.counters.swaps_in += swapped.num_blocks;
  maybe_request_gc(space);
  return true;
}

void DevicePool::discard_swapped(uint64_t space_id, const SwappedBlocks& swapped) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  if (space.tickets.erase(swapped.ticket) == 0) return;
  space.swapped_bytes -= uint64_t{space.geometry.block_bytes} * swap_tier_->regions(space.id, swapped.ticket).size();
  swap_tier_->release(space.id, swapped.ticket);
}

}  // namespace citadel::cache
