// DevicePool: space lifecycle and the block operations (allocate, release,
// prefix sharing, addresses). Pages, reclaim, compaction and GC live in
// pool_pages.cpp; swap in pool_swap.cpp; statistics in pool_inspect.cpp.
#include "host/cache/device_pool.h"

#include "host/cache/pooled_cache_space.h"

#include <atomic>
#include <unordered_map>

namespace citadel::cache {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
std::atomic<uint64_t> next_global_space_id{1};  // unique across pools: swap tickets are keyed by it

std::string mib(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

DevicePool::DevicePool(std::shared_ptr<PageBackend> backend, std::shared_ptr<HostSwapTier> swap_tier,
                       PoolOptions options)
    : backend_(std::move(backend)), swap_tier_(std::move(swap_tier)), options_(options) {
  free_virtual_pages_[0] = backend_->reserved_pages();
  if (options_.background_gc) gc_thread_ = std::thread([this] { gc_loop(); });
}

DevicePool::~DevicePool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  gc_wakeup_.notify_all();
  if (gc_thread_.joinable()) gc_thread_.join();
}

DevicePool::Space& DevicePool::space_ref(uint64_t space) {
  auto found = spaces_.find(space);
  if (found == spaces_.end()) throw std::logic_error("cache pool " + device() + ": unknown cache space");
  return found->second;
}

const DevicePool::Space& DevicePool::space_ref(uint64_t space) const {
  return const_cast<DevicePool*>(this)->space_ref(space);
}

DevicePool::Space* DevicePool::find_space(const std::string& model) {
  for (auto& [id, space] : spaces_) {
    if (space.model == model) return &space;
  }
  return nullptr;
}

void DevicePool::check_settings(const std::string& model, const BlockGeometry& geometry, uint64_t size_mb,
                                uint64_t reserved_mb, uint64_t ignore_space, uint64_t& ceiling, uint64_t& floor,
                                uint32_t& slab_pages, uint32_t& blocks_per_slab) const {
  const std::string where = "model '" + model + "' on " + device() + ": ";
  if (geometry.block_bytes == 0 || geometry.tokens_per_block == 0) {
    throw CacheBudgetError(where + "block geometry is empty (tokens_per_block " +
                           std::to_string(geometry.tokens_per_block) + ", block_bytes " +
                           std::to_string(geometry.block_bytes) + ")");
  }
  const uint64_t page = backend_->page_bytes();
  const uint64_t budget = backend_->budget_bytes();
  if (size_mb * kMiB > budget) {
    throw CacheBudgetError(where + "cache.size_mb " + std::to_string(size_mb) + " exceeds the device budget of " +
                           mib(budget));
  }
  ceiling = size_mb == 0 ? budget / page * page : size_mb * kMiB / page * page;
  const uint64_t min_pages = (geometry.block_bytes + page - 1) / page;
  if (min_pages * page > ceiling) {
    throw CacheBudgetError(where + "cache.size_mb " + std::to_string(size_mb) + " cannot hold one block of " +
                           std::to_string(geometry.block_bytes) + " bytes (needs " + mib(min_pages * page) +
                           " of " + mib(page) + " pages)");
  }
  floor = reserved_mb * kMiB;
  if (floor > ceiling) {
    throw CacheBudgetError(where + "cache.reserved_mb " + std::to_string(reserved_mb) +
                           " exceeds cache.size_mb " + std::to_string(size_mb));
  }
  uint64_t claimed = 0;  // sum over other spaces of max(mapped, floor)
  uint64_t own_mapped = 0;
  for (const auto& [id, space] : spaces_) {
    if (id == ignore_space) {
      own_mapped = space.mapped_bytes;
      continue;
    }
    claimed += std::max(space.mapped_bytes, space.floor_bytes);
  }
  if (claimed + std::max(own_mapped, floor) > budget) {
    throw CacheBudgetError(where + "cache.reserved_mb " + std::to_string(reserved_mb) + " cannot be met: " +
                           device() + " has " + mib(budget > claimed ? budget - claimed : 0) +
                           " neither mapped nor reserved by other models");
  }
  // Slab: the run of pages (up to 8 more than the minimum) that wastes least.
  double best_waste = 2.0;
  for (uint64_t pages = min_pages; pages <= min_pages + 8 && pages * page <= ceiling; ++pages) {
    uint64_t blocks = pages * page / geometry.block_bytes;
    double waste = double(pages * page - blocks * geometry.block_bytes) / double(pages * page);
    if (waste + 1e-9 < best_waste) {
      best_waste = waste;
      slab_pages = static_cast<uint32_t>(pages);
      blocks_per_slab = static_cast<uint32_t>(blocks);
    }
  }
}

std::shared_ptr<CacheSpace> DevicePool::create_space(const CacheSpaceSettings& settings) {
  std::lock_guard lock(mutex_);
  if (find_space(settings.model) != nullptr) {
    throw CacheBudgetError("model '" + settings.model + "' already has a cache space on " + device());
  }
  Space space;
  check_settings(settings.model, settings.geometry, settings.cache.size_mb, settings.cache.reserved_mb, 0,
                 space.ceiling_bytes, space.floor_bytes, space.slab_pages, space.blocks_per_slab);
  space.id = next_global_space_id++;
  space.model = settings.model;
  space.geometry = settings.geometry;
  space.settings = settings.cache;
  space.weight_bytes = settings.weight_bytes;
  space.policy = make_eviction_policy(settings.cache.eviction, space.ceiling_bytes / settings.geometry.block_bytes);
  uint64_t id = space.id;
  spaces_.emplace(id, std::move(space));
  return std::make_shared<PooledCacheSpace>(shared_from_this(), id, settings.model, settings.geometry);
}

uint64_t DevicePool::unclaimed_bytes() const {
  std::lock_guard lock(mutex_);
  uint64_t claimed = 0;
  for (const auto& [id, space] : spaces_) claimed += std::max(space.mapped_bytes, space.floor_bytes);
  claimed += off_budget_bytes_locked();
  uint64_t budget = backend_->budget_bytes();
  return budget > claimed ? budget - claimed : 0;
}

std::shared_ptr<DeviceClaim> DevicePool::claim(const std::string& model, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_claim_id_++;
  claims_.emplace(id, Claim{model, bytes});
  return std::make_shared<DeviceClaim>(shared_from_this(), id, model, bytes);
}

void DevicePool::release_claim(uint64_t claim) {
  std::lock_guard lock(mutex_);
  claims_.erase(claim);
}

void DevicePool::set_budget(const std::string& model, uint64_t size_mb, uint64_t reserved_mb) {
  std::lock_guard lock(mutex_);
  Space* space = find_space(model);
  if (space == nullptr) throw CacheBudgetError("model '" + model + "' has no cache space on " + device());
  uint64_t ceiling = 0, floor = 0;
  uint32_t slab_pages = space->slab_pages, blocks_per_slab = space->blocks_per_slab;
  check_settings(model, space->geometry, size_mb, reserved_mb, space->id, ceiling, floor, slab_pages,
                 blocks_per_slab);
  if (uint64_t{space->slab_pages} * backend_->page_bytes() > ceiling) {
    throw CacheBudgetError("model '" + model + "': cache.size_mb " + std::to_string(size_mb) +
                           " is smaller than one slab of its blocks (" +
                           std::to_string(uint64_t{space->slab_pages} * backend_->page_bytes() / kMiB) + " MiB)");
  }
  space->ceiling_bytes = ceiling;
  space->floor_bytes = floor;
  space->settings.size_mb = size_mb;
  space->settings.reserved_mb = reserved_mb;
  if (space->mapped_bytes > ceiling) shrink_to(*space, ceiling);
}

const DevicePool::BlockEntry& DevicePool::live_block(const Space& space, BlockId block, const char* operation) const {
  if (block >= space.blocks.size() || space.blocks[block].slab == kNone || space.blocks[block].references == 0) {
    throw std::invalid_argument(std::string(operation) + ": block " + std::to_string(block) + " of model '" +
                                space.model + "' is not live");
  }
  return space.blocks[block];
}

std::byte* DevicePool::slot_address(const Space& space, uint32_t slab, uint32_t slot) const {
  return backend_->base() + slabs_[slab].first_page * backend_->page_bytes() +
         uint64_t{slot} * space.geometry.block_bytes;
}

void DevicePool::set_room(Space& space, uint32_t slab, uint32_t old_free) {
  uint32_t new_free = static_cast<uint32_t>(slabs_[slab].free_slots.size());
  if (old_free == new_free) return;
  if (old_free == space.blocks_per_slab) space.empty_slabs--;
  if (new_free == space.blocks_per_slab) space.empty_slabs++;
  if (old_free > 0) space.slabs_with_room.erase({old_free, slab});
  if (new_free > 0) space.slabs_with_room.insert({new_free, slab});
}

BlockId DevicePool::take_slot(Space& space) {
  uint32_t slab_index = space.slabs_with_room.begin()->second;  // the fullest slab with room
  Slab& slab = slabs_[slab_index];
  uint32_t old_free = static_cast<uint32_t>(slab.free_slots.size());
  uint32_t slot = slab.free_slots.back();
  slab.free_slots.pop_back();
  set_room(space, slab_index, old_free);
  BlockId id;
  if (!space.free_ids.empty()) {
    id = space.free_ids.back();
    space.free_ids.pop_back();
  } else {
    id = static_cast<BlockId>(space.blocks.size());
    space.blocks.emplace_back();
  }
  space.blocks[id] = BlockEntry{slab_index, slot, 1, 1, false, 0};
  slab.occupant[slot] = id;
  slab.occupied++;
  slab.live++;
  space.free_slots--;
  space.live_blocks++;
  return id;
}

void DevicePool::free_block(Space& space, BlockId block) {
  BlockEntry& entry = space.blocks[block];
  Slab& slab = slabs_[entry.slab];
  uint32_t old_free = static_cast<uint32_t>(slab.free_slots.size());
  slab.occupant[entry.slot] = kNone;
  slab.free_slots.push_back(entry.slot);
  slab.occupied--;
  set_room(space, entry.slab, old_free);
  space.free_slots++;
  entry = BlockEntry{};
  space.free_ids.push_back(block);
}

bool DevicePool::allocate(uint64_t space_id, uint32_t count, std::vector<BlockId>& out) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  if (count == 0) return true;
  if (!ensure_room(space, count)) return false;
  out.reserve(out.size() + count);
  for (uint32_t i = 0; i < count; ++i) out.push_back(take_slot(space));
  maybe_request_gc(space);
  return true;
}

void DevicePool::release_locked(Space& space, std::span<const BlockId> blocks, bool keep_pages) {
  // Validate everything before changing anything.
  auto over_released = [&](BlockId block) {
    throw std::invalid_argument("release: block " + std::to_string(block) + " of model '" + space.model +
                                "' released more often than referenced");
  };
  if (blocks.size() <= 32) {  // the common case: no allocation
    for (size_t i = 0; i < blocks.size(); ++i) {
      const BlockEntry& entry = live_block(space, blocks[i], "release");
      uint32_t times = 1;
      for (size_t j = 0; j < i; ++j) times += blocks[j] == blocks[i] ? 1 : 0;
      if (times > entry.references) over_released(blocks[i]);
    }
  } else {
    std::unordered_map<BlockId, uint32_t> drops;
    for (BlockId block : blocks) {
      if (++drops[block] > live_block(space, block, "release").references) over_released(block);
    }
  }
  std::vector<BlockId> zeroed;
  uint32_t hashed = 0;
  for (BlockId block : blocks) {
    BlockEntry& entry = space.blocks[block];
    if (--entry.references > 0) continue;
    zeroed.push_back(block);
    hashed += entry.hashed ? 1 : 0;
  }
  for (BlockId block : zeroed) {
    BlockEntry& entry = space.blocks[block];
    slabs_[entry.slab].live--;
    space.live_blocks--;
    if (entry.hashed) {
      space.cached_blocks++;
      space.policy->insert(block, entry.hash, entry.uses, hashed);
    } else {
      free_block(space, block);
    }
  }
  if (space.mapped_bytes > space.ceiling_bytes) {
    shrink_to(space, space.ceiling_bytes);  // the ceiling was lowered: give back what is freed
  } else if (!keep_pages) {
    unmap_empty_slabs(space, options_.spare_empty_slabs, false);
  }
}

void DevicePool::release(uint64_t space_id, std::span<const BlockId> blocks) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  release_locked(space, blocks);
  maybe_request_gc(space);
}

uint32_t DevicePool::match_prefix(uint64_t space_id, std::span<const PrefixHash> hashes, std::vector<BlockId>& out) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  space.counters.prefix_queries += hashes.size();
  uint32_t matched = 0;
  for (PrefixHash hash : hashes) {
    auto found = space.prefix_map.find(hash);
    if (found == space.prefix_map.end()) {
      space.policy->record_miss(hash);
      break;
    }
    BlockEntry& entry = space.blocks[found->second];
    if (entry.references == 0) {
      space.policy->erase(found->second);
      space.cached_blocks--;
      space.live_blocks++;
      slabs_[entry.slab].live++;
    }
    entry.references++;
    entry.uses++;
    out.push_back(found->second);
    ++matched;
  }
  space.counters.prefix_hits += matched;
  return matched;
}

void DevicePool::publish_prefix(uint64_t space_id, BlockId block, PrefixHash hash) {
  std::lock_guard lock(mutex_);
  Space& space = space_ref(space_id);
  BlockEntry& entry = const_cast<BlockEntry&>(live_block(space, block, "publish_prefix"));
  if (entry.hashed || space.prefix_map.count(hash) != 0) return;  // first publisher keeps the hash
  entry.hashed = true;
  entry.hash = hash;
  space.prefix_map.emplace(hash, block);
}

void* DevicePool::address_locked(const Space& space, BlockId block) const {
  if (block >= space.blocks.size() || space.blocks[block].slab == kNone) {
    throw std::invalid_argument("address: block " + std::to_string(block) + " of model '" + space.model +
                                "' is not allocated");
  }
  const BlockEntry& entry = space.blocks[block];
  return slot_address(space, entry.slab, entry.slot);
}

void* DevicePool::address(uint64_t space_id, BlockId block) const {
  std::lock_guard lock(mutex_);
  return address_locked(space_ref(space_id), block);
}

void DevicePool::addresses(uint64_t space_id, std::span<const BlockId> blocks, std::span<void*> out) const {
  if (out.size() < blocks.size()) throw std::invalid_argument("addresses: output shorter than the blocks");
  std::lock_guard lock(mutex_);
  const Space& space = space_ref(space_id);
  for (size_t i = 0; i < blocks.size(); ++i) out[i] = address_locked(space, blocks[i]);
}

uint64_t DevicePool::layout_version(uint64_t space_id) const {
  std::lock_guard lock(mutex_);
  return space_ref(space_id).layout_version;
}

void DevicePool::destroy_space(uint64_t space_id) {
  std::lock_guard lock(mutex_);
  auto found = spaces_.find(space_id);
  if (found == spaces_.end()) return;
  Space& space = found->second;
  for (uint32_t slab : std::vector<uint32_t>(space.slabs.begin(), space.slabs.end())) {
    slabs_[slab].occupied = 0;
    unmap_slab(space, slab);
  }
  if (swap_tier_) swap_tier_->release_owner(space_id);
  spaces_.erase(found);
}

void DevicePool::maybe_request_gc(const Space& space) {
  if (!options_.background_gc || gc_requested_) return;
  double threshold = space.settings.gc_threshold;
  if (threshold <= 0 || threshold >= 1) return;
  if (double(space.mapped_bytes) <= threshold * double(space.ceiling_bytes)) return;
  if (space.cached_blocks == 0 && space.empty_slabs == 0) return;
  gc_requested_ = true;
  gc_wakeup_.notify_one();
}

}  // namespace citadel::cache
