// DevicePool, page side: the virtual page allocator, mapping and unmapping
// slabs under the device budget, making room for an allocation (grow, take
// other spaces' empty pages, evict own cached blocks, evict other spaces'
// cached blocks), compaction and the GC pass.
#include "host/cache/device_pool.h"

#include <algorithm>

namespace citadel::cache {

size_t DevicePool::take_virtual_pages(size_t count) {
  for (auto range = free_virtual_pages_.begin(); range != free_virtual_pages_.end(); ++range) {
    if (range->second < count) continue;
    size_t first = range->first;
    size_t rest = range->second - count;
    free_virtual_pages_.erase(range);
    if (rest > 0) free_virtual_pages_[first + count] = rest;
    return first;
  }
  return SIZE_MAX;
}

void DevicePool::give_back_virtual_pages(size_t first, size_t count) {
  auto next = free_virtual_pages_.lower_bound(first);
  if (next != free_virtual_pages_.end() && next->first == first + count) {
    count += next->second;
    next = free_virtual_pages_.erase(next);
  }
  if (next != free_virtual_pages_.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second == first) {
      previous->second += count;
      return;
    }
  }
  free_virtual_pages_[first] = count;
}

uint64_t DevicePool::slab_bytes(const Space& space) const { return uint64_t{space.slab_pages} * backend_->page_bytes(); }

uint64_t DevicePool::off_budget_bytes_locked() const {
  uint64_t bytes = 0;
  for (const auto& [id, space] : spaces_) bytes += space.weight_bytes;
  for (const auto& [id, claim] : claims_) bytes += claim.bytes;
  return bytes;
}

uint64_t DevicePool::available_for(const Space& space) const {
  uint64_t promised = 0;  // other spaces' floors not yet mapped
  for (const auto& [id, other] : spaces_) {
    if (id != space.id && other.floor_bytes > other.mapped_bytes) promised += other.floor_bytes - other.mapped_bytes;
  }
  uint64_t claimed = mapped_bytes_ + promised + off_budget_bytes_locked();
  uint64_t budget = backend_->budget_bytes();
  return budget > claimed ? budget - claimed : 0;
}

bool DevicePool::map_slab(Space& space) {
  const uint64_t bytes = slab_bytes(space);
  if (space.mapped_bytes + bytes > space.ceiling_bytes || available_for(space) < bytes) return false;
  size_t first = take_virtual_pages(space.slab_pages);
  if (first == SIZE_MAX) return false;
  try {
    backend_->map_pages(first, space.slab_pages);
  } catch (const PageError&) {
    give_back_virtual_pages(first, space.slab_pages);
    return false;  // the driver is out of memory: treated like a spent budget
  }
  uint32_t index;
  if (!free_slab_indices_.empty()) {
    index = free_slab_indices_.back();
    free_slab_indices_.pop_back();
  } else {
    index = static_cast<uint32_t>(slabs_.size());
    slabs_.emplace_back();
  }
  Slab& slab = slabs_[index];
  slab = Slab{};
  slab.first_page = first;
  slab.pages = space.slab_pages;
  slab.space = space.id;
  slab.occupant.assign(space.blocks_per_slab, kNone);
  for (uint32_t slot = space.blocks_per_slab; slot > 0; --slot) slab.free_slots.push_back(slot - 1);
  space.slabs.insert(index);
  space.slabs_with_room.insert({space.blocks_per_slab, index});
  space.free_slots += space.blocks_per_slab;
  space.empty_slabs++;
  space.mapped_bytes += bytes;
  mapped_bytes_ += bytes;
  page_maps_ += space.slab_pages;
  return true;
}

void DevicePool::unmap_slab(Space& space, uint32_t index) {
  Slab& slab = slabs_[index];
  backend_->unmap_pages(slab.first_page, slab.pages);
  give_back_virtual_pages(slab.first_page, slab.pages);
  const uint64_t bytes = uint64_t{slab.pages} * backend_->page_bytes();
  uint32_t free_count = static_cast<uint32_t>(slab.free_slots.size());
  if (free_count > 0) space.slabs_with_room.erase({free_count, index});
  if (free_count == space.blocks_per_slab) space.empty_slabs--;
  space.slabs.erase(index);
  space.free_slots -= free_count;
  space.mapped_bytes -= bytes;
  mapped_bytes_ -= bytes;
  page_unmaps_ += slab.pages;
  slab = Slab{};
  free_slab_indices_.push_back(index);
}

uint32_t DevicePool::unmap_empty_slabs(Space& space, uint32_t keep, bool respect_floor) {
  if (space.empty_slabs <= keep) return 0;
  std::vector<uint32_t> empty;
  for (auto entry = space.slabs_with_room.rbegin();
       entry != space.slabs_with_room.rend() && entry->first == space.blocks_per_slab; ++entry) {
    empty.push_back(entry->second);
  }
  uint32_t unmapped = 0;
  for (size_t i = keep; i < empty.size(); ++i) {
    if (respect_floor && space.mapped_bytes < space.floor_bytes + slab_bytes(space)) break;
    unmap_slab(space, empty[i]);
    ++unmapped;
  }
  return unmapped;
}

bool DevicePool::evict_one(Space& space) {
  std::optional<BlockId> victim = space.policy->evict();
  if (!victim) return false;
  BlockEntry& entry = space.blocks[*victim];
  space.prefix_map.erase(entry.hash);
  space.cached_blocks--;
  space.counters.evictions++;
  free_block(space, *victim);
  return true;
}

// Frees device budget for one slab of `space` from other spaces above their
// floor: their empty slabs (free), or, with evict_cached, their cached blocks
// (by their own policy, most cached bytes first) followed by a cached-only
// compaction so that whole slabs empty.
bool DevicePool::reclaim_for(Space& space, bool evict_cached) {
  const uint64_t wanted = slab_bytes(space);
  auto enough = [&] { return available_for(space) >= wanted; };
  std::vector<Space*> others;
  for (auto& [id, other] : spaces_) {
    if (id != space.id) others.push_back(&other);
  }
  auto above_floor = [&](const Space& other) {
    return other.mapped_bytes >= other.floor_bytes + slab_bytes(other);
  };
  if (!evict_cached) {
    for (Space* other : others) {
      if (enough()) break;
      unmap_empty_slabs(*other, 0, true);
    }
    return enough();
  }
  std::sort(others.begin(), others.end(), [](const Space* a, const Space* b) {
    return a->cached_blocks * a->geometry.block_bytes > b->cached_blocks * b->geometry.block_bytes;
  });
  for (Space* other : others) {
    uint64_t wanted_free = other->blocks_per_slab;  // free slots to evict towards before compacting
    while (!enough() && above_floor(*other)) {
      const uint64_t before = other->mapped_bytes;
      bool evicted = false;
      while (other->free_slots < wanted_free && evict_one(*other)) evicted = true;
      compact_locked(*other, false);
      unmap_empty_slabs(*other, 0, true);
      if (other->mapped_bytes < before) continue;
      if (!evicted && other->cached_blocks == 0) break;
      wanted_free = other->free_slots + other->blocks_per_slab;  // live blocks pin the slabs: evict more
    }
    if (enough()) break;
  }
  return enough();
}

bool DevicePool::ensure_room(Space& space, uint64_t needed) {
  if (space.free_slots >= needed) return true;
  const uint64_t room_under_ceiling =
      space.ceiling_bytes > space.mapped_bytes ? space.ceiling_bytes - space.mapped_bytes : 0;
  const uint64_t reachable = space.free_slots + space.cached_blocks +
                             room_under_ceiling / slab_bytes(space) * space.blocks_per_slab;
  if (reachable < needed) return false;
  auto can_grow = [&] { return space.mapped_bytes + slab_bytes(space) <= space.ceiling_bytes; };
  while (space.free_slots < needed) {
    if (map_slab(space)) continue;
    if (can_grow() && reclaim_for(space, false) && map_slab(space)) continue;
    if (evict_one(space)) continue;
    if (can_grow() && reclaim_for(space, true) && map_slab(space)) continue;
    return false;
  }
  return true;
}

uint64_t DevicePool::compact_locked(Space& space, bool move_live) {
  std::vector<uint32_t> anchors, movable;
  uint64_t occupied = 0;
  for (uint32_t index : space.slabs) {
    const Slab& slab = slabs_[index];
    occupied += slab.occupied;
    (slab.live > 0 && !move_live ? anchors : movable).push_back(index);
  }
  std::sort(movable.begin(), movable.end(), [&](uint32_t a, uint32_t b) {
    return slabs_[a].occupied != slabs_[b].occupied ? slabs_[a].occupied > slabs_[b].occupied : a < b;
  });
  uint64_t capacity = uint64_t{anchors.size()} * space.blocks_per_slab;
  size_t kept = 0;
  while (kept < movable.size() && capacity < occupied) {
    capacity += space.blocks_per_slab;
    ++kept;
  }
  std::vector<uint32_t> sources(movable.begin() + static_cast<std::ptrdiff_t>(kept), movable.end());
  for (uint32_t source : sources) {
    uint32_t free_count = static_cast<uint32_t>(slabs_[source].free_slots.size());
    if (free_count > 0) space.slabs_with_room.erase({free_count, source});
    if (free_count == space.blocks_per_slab) space.empty_slabs--;
  }
  uint64_t moved = 0;
  bool moved_live = false;
  for (uint32_t source : sources) {
    Slab& from = slabs_[source];
    for (uint32_t slot = 0; slot < from.occupant.size(); ++slot) {
      BlockId block = from.occupant[slot];
      if (block == kNone) continue;
      uint32_t target = space.slabs_with_room.begin()->second;
      Slab& to = slabs_[target];
      uint32_t old_free = static_cast<uint32_t>(to.free_slots.size());
      uint32_t target_slot = to.free_slots.back();
      to.free_slots.pop_back();
      set_room(space, target, old_free);
      backend_->copy_within_device(slot_address(space, target, target_slot), slot_address(space, source, slot),
                                   space.geometry.block_bytes);
      BlockEntry& entry = space.blocks[block];
      bool live = entry.references > 0;
      entry.slab = target;
      entry.slot = target_slot;
      to.occupant[target_slot] = block;
      to.occupied++;
      to.live += live ? 1 : 0;
      from.occupant[slot] = kNone;
      from.free_slots.push_back(slot);
      from.occupied--;
      from.live -= live ? 1 : 0;
      moved_live |= live;
      ++moved;
    }
  }
  if (moved > 0) backend_->synchronize();
  for (uint32_t source : sources) {
    space.slabs_with_room.insert({space.blocks_per_slab, source});  // now empty
    space.empty_slabs++;
    unmap_slab(space, source);
  }
  if (moved_live) space.layout_version++;  // callers that kept addresses look them up again
  if (moved > 0) {
    space.counters.compactions++;
    compactions_++;
  }
  return moved;
}

uint64_t DevicePool::compact(const std::string& model, bool move_live) {
  std::lock_guard lock(mutex_);
  uint64_t moved = 0;
  for (auto& [id, space] : spaces_) {
    if (model.empty() || space.model == model) moved += compact_locked(space, move_live);
  }
  return moved;
}

// Evicts cached blocks by policy and unmaps pages until the space maps at
// most `target_bytes` or has nothing cached left (live blocks stay put).
void DevicePool::shrink_to(Space& space, uint64_t target_bytes) {
  unmap_empty_slabs(space, 0, false);
  const uint64_t target_blocks = target_bytes / slab_bytes(space) * space.blocks_per_slab;
  while (space.live_blocks + space.cached_blocks > target_blocks && evict_one(space)) {
  }
  compact_locked(space, false);
  unmap_empty_slabs(space, 0, false);
  while (space.mapped_bytes > target_bytes && space.cached_blocks > 0) {
    // Live blocks pin some slabs: evict another slab's worth and retry.
    for (uint32_t i = 0; i < space.blocks_per_slab && evict_one(space); ++i) {
    }
    compact_locked(space, false);
    unmap_empty_slabs(space, 0, false);
  }
}

void DevicePool::gc_space(Space& space) {
  double threshold = space.settings.gc_threshold;
  if (threshold <= 0 || threshold >= 1) return;
  const uint64_t target = static_cast<uint64_t>(threshold * double(space.ceiling_bytes));
  if (space.mapped_bytes <= target) return;
  space.counters.gc_runs++;
  shrink_to(space, target);
}

void DevicePool::run_gc_now() {
  std::lock_guard lock(mutex_);
  gc_runs_++;
  for (auto& [id, space] : spaces_) gc_space(space);
}

void DevicePool::gc_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    gc_wakeup_.wait(lock, [this] { return gc_requested_ || stopping_; });
    if (stopping_) return;
    gc_requested_ = false;
    gc_runs_++;
    for (auto& [id, space] : spaces_) gc_space(space);
  }
}

}  // namespace citadel::cache
