// DevicePool, read side: statistics for the admin `pool` command and the
// invariant check the randomized tests run after every operation.
#include "host/cache/device_pool.h"

#include <unordered_set>

namespace citadel::cache {

CacheSpaceStats DevicePool::space_stats(uint64_t space_id) const {
  std::lock_guard lock(mutex_);
  const Space& space = space_ref(space_id);
  CacheSpaceStats stats = space.counters;
  stats.budget_bytes = space.ceiling_bytes;
  stats.reserved_bytes = space.floor_bytes;
  stats.used_bytes = space.live_blocks * space.geometry.block_bytes;
  stats.cached_bytes = space.cached_blocks * space.geometry.block_bytes;
  stats.mapped_bytes = space.mapped_bytes;
  stats.swapped_bytes = space.swapped_bytes;
  stats.weight_bytes = space.weight_bytes;
  stats.total_blocks = uint64_t{space.slabs.size()} * space.blocks_per_slab;
  stats.live_blocks = space.live_blocks;
  stats.cached_blocks = space.cached_blocks;
  return stats;
}

PoolStats DevicePool::stats() const {
  PoolStats pool;
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    pool.device = device();
    pool.physical_device = backend_->physical_device();
    pool.page_bytes = backend_->page_bytes();
    pool.budget_bytes = backend_->budget_bytes();
    pool.virtual_bytes = uint64_t{backend_->reserved_pages()} * backend_->page_bytes();
    pool.mapped_bytes = mapped_bytes_;
    pool.page_maps = page_maps_;
    pool.page_unmaps = page_unmaps_;
    pool.compactions = compactions_;
    pool.gc_runs = gc_runs_;
    for (const auto& [id, space] : spaces_) {
      ids.push_back(id);
      pool.reserved_bytes += space.floor_bytes;
      pool.weight_bytes += space.weight_bytes;
      SpaceStatsEntry entry;
      entry.model = space.model;
      entry.eviction = config::to_string(space.settings.eviction);
      entry.gc_threshold = space.settings.gc_threshold;
      entry.block_bytes = space.geometry.block_bytes;
      entry.tokens_per_block = space.geometry.tokens_per_block;
      entry.blocks_per_slab = space.blocks_per_slab;
      pool.spaces.push_back(std::move(entry));
    }
    for (const auto& [id, claim] : claims_) {
      pool.claimed_bytes += claim.bytes;
      pool.claims.push_back({claim.model, claim.bytes});
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    try {
      pool.spaces[i].stats = space_stats(ids[i]);
    } catch (const std::logic_error&) {
      // destroyed meanwhile: its figures stay zero
    }
    pool.used_bytes += pool.spaces[i].stats.used_bytes;
    pool.cached_bytes += pool.spaces[i].stats.cached_bytes;
  }
  uint64_t occupied = pool.used_bytes + pool.cached_bytes;
  pool.free_in_mapped_bytes = pool.mapped_bytes > occupied ? pool.mapped_bytes - occupied : 0;
  pool.fragmentation_pct =
      pool.mapped_bytes == 0 ? 0.0 : 100.0 * double(pool.free_in_mapped_bytes) / double(pool.mapped_bytes);
  return pool;
}

void DevicePool::check_invariants() const {
  std::lock_guard lock(mutex_);
  auto fail = [this](const std::string& what) {
    throw std::logic_error("cache pool " + device() + " invariant: " + what);
  };
  const uint64_t page = backend_->page_bytes();
  std::vector<bool> page_used(backend_->reserved_pages(), false);
  for (const auto& [first, count] : free_virtual_pages_) {
    for (size_t p = first; p < first + count; ++p) {
      if (page_used[p]) fail("virtual page " + std::to_string(p) + " free twice");
      page_used[p] = true;
    }
  }
  uint64_t mapped_total = 0, claimed = 0;
  for (const auto& [id, space] : spaces_) {
    const std::string who = "model '" + space.model + "': ";
    uint64_t mapped = 0, free_slots = 0, live = 0, cached = 0, allocated = 0, empty = 0;
    for (uint32_t index : space.slabs) {
      const Slab& slab = slabs_[index];
      if (slab.space != id) fail(who + "slab " + std::to_string(index) + " belongs to another space");
      for (size_t p = slab.first_page; p < slab.first_page + slab.pages; ++p) {
        if (page_used[p]) fail(who + "page " + std::to_string(p) + " owned twice");
        page_used[p] = true;
      }
      mapped += slab.pages * page;
      uint32_t occupied = 0, slab_live = 0;
      for (uint32_t slot = 0; slot < slab.occupant.size(); ++slot) {
        BlockId block = slab.occupant[slot];
        if (block == kNone) continue;
        ++occupied;
        if (block >= space.blocks.size() || space.blocks[block].slab != index || space.blocks[block].slot != slot) {
          fail(who + "slot " + std::to_string(slot) + " of slab " + std::to_string(index) +
               " holds a block that points elsewhere (block owned twice)");
        }
        slab_live += space.blocks[block].references > 0 ? 1 : 0;
      }
      if (occupied != slab.occupied || slab_live != slab.live) fail(who + "slab counts are wrong");
      if (slab.free_slots.size() + occupied != slab.occupant.size()) fail(who + "slab free list leaks slots");
      uint32_t free_count = static_cast<uint32_t>(slab.free_slots.size());
      if ((free_count > 0) != (space.slabs_with_room.count({free_count, index}) == 1)) {
        fail(who + "slab " + std::to_string(index) + " missing from the room index");
      }
      free_slots += free_count;
      empty += free_count == space.blocks_per_slab ? 1 : 0;
    }
    if (empty != space.empty_slabs) fail(who + "empty slab counter is wrong");
    if (space.slabs_with_room.size() > space.slabs.size()) fail(who + "room index has stale slabs");
    for (BlockId block = 0; block < space.blocks.size(); ++block) {
      const BlockEntry& entry = space.blocks[block];
      if (entry.slab == kNone) continue;
      ++allocated;
      if (space.slabs.count(entry.slab) == 0 || slabs_[entry.slab].occupant[entry.slot] != block) {
        fail(who + "block " + std::to_string(block) + " points at a slot it does not own");
      }
      if (entry.references > 0) {
        ++live;
      } else {
        ++cached;
        if (!entry.hashed) fail(who + "block " + std::to_string(block) + " has no references and no hash (leak)");
      }
      if (entry.hashed) {
        auto found = space.prefix_map.find(entry.hash);
        if (found == space.prefix_map.end() || found->second != block) fail(who + "prefix map misses a block");
      }
    }
    for (const auto& [hash, block] : space.prefix_map) {
      if (block >= space.blocks.size() || space.blocks[block].slab == kNone || space.blocks[block].hash != hash) {
        fail(who + "prefix map names a free block");
      }
    }
    if (allocated + space.free_ids.size() != space.blocks.size()) fail(who + "block ids leak");
    if (live != space.live_blocks || cached != space.cached_blocks) fail(who + "live/cached counters are wrong");
    if (cached != space.policy->size()) fail(who + "eviction policy does not hold exactly the cached blocks");
    if (free_slots != space.free_slots) fail(who + "free slot counter is wrong");
    if (live + cached + free_slots != uint64_t{space.slabs.size()} * space.blocks_per_slab) {
      fail(who + "live + cached + free != slots of mapped slabs");
    }
    if (mapped != space.mapped_bytes) fail(who + "mapped bytes counter is wrong");
    if (space.mapped_bytes > space.ceiling_bytes && (space.cached_blocks > 0 || space.empty_slabs > 0)) {
      fail(who + "above its ceiling while holding reclaimable blocks");
    }
    uint64_t swapped = 0;
    for (uint64_t ticket : space.tickets) {
      swapped += uint64_t{space.geometry.block_bytes} * swap_tier_->regions(id, ticket).size();
    }
    if (swapped != space.swapped_bytes) fail(who + "swapped bytes counter is wrong");
    mapped_total += mapped;
    claimed += std::max(space.mapped_bytes, space.floor_bytes);
  }
  for (size_t p = 0; p < page_used.size(); ++p) {
    if (!page_used[p]) fail("virtual page " + std::to_string(p) + " is neither free nor in a slab (leak)");
  }
  if (mapped_total != mapped_bytes_) fail("pool mapped bytes counter is wrong");
  if (mapped_bytes_ > backend_->budget_bytes()) fail("mapped bytes exceed the device budget");
  if (claimed > backend_->budget_bytes()) fail("mapped + unmet floors exceed the device budget");
}

}  // namespace citadel::cache
