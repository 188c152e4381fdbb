// DevicePool: the cache pool of one device. It carves the blocks of every
// model's cache space out of pages mapped on demand by its PageBackend, keeps
// each space's block table (BlockId -> slot, so compaction moves data without
// changing ids), reference counts and prefix map, enforces budgets (ceiling
// size_mb, floor reserved_mb, the device budget shared elastically), evicts by
// each space's policy, swaps to the host tier, compacts and runs GC.
//
// Called by: CacheManager (creates it and its spaces) and PooledCacheSpace
// (the CacheSpace handed to the scheduler), and tests/bench through the
// maintenance calls. Thread-safe: one mutex guards the whole pool.
//
// Pages of a space are grouped in slabs: runs of contiguous pages that hold a
// whole number of blocks (one page holds many small blocks; a block larger
// than a page gets a run of pages). Live blocks are moved only by compact()
// with move_live (call it between steps: addresses change, and the space's
// layout_version with them); reclaim and GC move only cached blocks, which
// no running request reads.
#pragma once

#include "host/cache/cache_space.h"
#include "host/cache/device_claim.h"
#include "host/cache/eviction_policy.h"
#include "host/cache/host_swap_tier.h"
#include "host/cache/page_backend.h"
#include "host/cache/pool_stats.h"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

namespace citadel::cache {

class CacheBudgetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PoolOptions {
  bool background_gc = true;   // a GC thread per pool; off: only run_gc_now()
  uint32_t spare_empty_slabs = 1;  // empty slabs a space keeps mapped after release
};

class DevicePool : public std::enable_shared_from_this<DevicePool> {
 public:
  DevicePool(std::shared_ptr<PageBackend> backend, std::shared_ptr<HostSwapTier> swap_tier,
             PoolOptions options = {});
  ~DevicePool();
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  const std::string& device() const { return backend_->device(); }
  PageBackend& backend() { return *backend_; }

  // Creates a space; throws CacheBudgetError naming the model and the field
  // (size_mb, reserved_mb, block size) when the settings cannot be met.
  // size_mb 0 means "up to the whole device budget".
  std::shared_ptr<CacheSpace> create_space(const CacheSpaceSettings& settings);
  // Device budget not yet mapped nor promised to a space's floor nor taken
  // by the models' weights (CacheSpaceSettings::weight_bytes) or claims.
  uint64_t unclaimed_bytes() const;

  // Takes `bytes` off the budget for `model` (its memory on this device
  // outside cache blocks) until the returned claim is destroyed. Never
  // refused, like weight_bytes: the memory is the plugin's already, and a
  // budget it overdraws only stops the spaces here from growing.
  std::shared_ptr<DeviceClaim> claim(const std::string& model, uint64_t bytes);

  // Changes a space's ceiling and floor (same checks as create_space). Above
  // the new ceiling, cached blocks are evicted and empty pages unmapped.
  void set_budget(const std::string& model, uint64_t size_mb, uint64_t reserved_mb);

  // Moves blocks out of sparse slabs and unmaps the emptied ones, for one
  // model or every model (empty). Returns the number of blocks moved.
  uint64_t compact(const std::string& model, bool move_live);
  // One GC pass over every space above its gc_threshold (synchronous).
  void run_gc_now();

  PoolStats stats() const;
  // Throws std::logic_error describing the first broken invariant (a block
  // owned twice, a leak, an accounting identity, a budget). For tests.
  void check_invariants() const;

  // --- the CacheSpace operations, by space id (PooledCacheSpace forwards) ---
  bool allocate(uint64_t space, uint32_t count, std::vector<BlockId>& out);
  void release(uint64_t space, std::span<const BlockId> blocks);
  uint32_t match_prefix(uint64_t space, std::span<const PrefixHash> hashes, std::vector<BlockId>& out);
  void publish_prefix(uint64_t space, BlockId block, PrefixHash hash);
  void* address(uint64_t space, BlockId block) const;
  void addresses(uint64_t space, std::span<const BlockId> blocks, std::span<void*> out) const;
  uint64_t layout_version(uint64_t space) const;
  std::optional<SwappedBlocks> swap_out(uint64_t space, std::span<const BlockId> blocks);
  bool swap_in(uint64_t space, const SwappedBlocks& swapped, std::vector<BlockId>& out);
  void discard_swapped(uint64_t space, const SwappedBlocks& swapped);
  CacheSpaceStats space_stats(uint64_t space) const;
  void destroy_space(uint64_t space);
  void release_claim(uint64_t claim);  // DeviceClaim's destructor

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Slab {
    size_t first_page = 0;
    size_t pages = 0;
    uint64_t space = 0;
    std::vector<BlockId> occupant;     // per slot; kNone when free
    std::vector<uint32_t> free_slots;  // stack
    uint32_t live = 0;                 // occupants with references
    uint32_t occupied = 0;
  };
  struct BlockEntry {
    uint32_t slab = kNone;  // kNone: the id is free
    uint32_t slot = 0;
    uint32_t references = 0;
    uint32_t uses = 0;
    bool hashed = false;
    PrefixHash hash = 0;
  };
  struct Space {
    uint64_t id = 0;
    std::string model;
    BlockGeometry geometry;
    config::CacheSettings settings;
    uint64_t ceiling_bytes = 0;
    uint64_t floor_bytes = 0;
    uint32_t slab_pages = 1;
    uint32_t blocks_per_slab = 1;
    std::vector<BlockEntry> blocks;
    std::vector<BlockId> free_ids;
    std::unordered_map<PrefixHash, BlockId> prefix_map;
    std::unique_ptr<EvictionPolicy> policy;
    std::set<std::pair<uint32_t, uint32_t>> slabs_with_room;  // (free slots, slab)
    std::set<uint32_t> slabs;
    uint64_t mapped_bytes = 0;
    uint64_t free_slots = 0;
    uint32_t empty_slabs = 0;  // slabs with every slot free
    uint64_t live_blocks = 0;
    uint64_t cached_blocks = 0;
    uint64_t swapped_bytes = 0;
    uint64_t weight_bytes = 0;  // the model's weights on the device, off the budget
    uint64_t layout_version = 0;  // +1 each compaction that moves referenced blocks
    std::set<uint64_t> tickets;
    CacheSpaceStats counters;
  };

  // device_pool.cpp
  Space& space_ref(uint64_t space);
  const Space& space_ref(uint64_t space) const;
  Space* find_space(const std::string& model);
  void check_settings(const std::string& model, const BlockGeometry& geometry, uint64_t size_mb,
                      uint64_t reserved_mb, uint64_t ignore_space, uint64_t& ceiling, uint64_t& floor,
                      uint32_t& slab_pages, uint32_t& blocks_per_slab) const;
  const BlockEntry& live_block(const Space& space, BlockId block, const char* operation) const;
  void* address_locked(const Space& space, BlockId block) const;
  std::byte* slot_address(const Space& space, uint32_t slab, uint32_t slot) const;
  BlockId take_slot(Space& space);
  void free_block(Space& space, BlockId block);
  // keep_pages: leave emptied slabs mapped (swap_out: the preempting request
  // is about to need them; GC and reclaim give them back later).
  void release_locked(Space& space, std::span<const BlockId> blocks, bool keep_pages = false);
  void set_room(Space& space, uint32_t slab, uint32_t old_free);
  void maybe_request_gc(const Space& space);

  // pool_pages.cpp: slabs, device budget, reclaim
  uint64_t slab_bytes(const Space& space) const;
  uint64_t available_for(const Space& space) const;
  uint64_t off_budget_bytes_locked() const;  // all spaces' weight_bytes and all claims
  bool map_slab(Space& space);
  void unmap_slab(Space& space, uint32_t slab);
  uint32_t unmap_empty_slabs(Space& space, uint32_t keep, bool respect_floor);
  bool ensure_room(Space& space, uint64_t needed);
  bool reclaim_for(Space& space, bool evict_cached);
  bool evict_one(Space& space);
  uint64_t compact_locked(Space& space, bool move_live);
  void shrink_to(Space& space, uint64_t target_bytes);
  void gc_space(Space& space);
  void gc_loop();
  size_t take_virtual_pages(size_t count);
  void give_back_virtual_pages(size_t first, size_t count);

  std::shared_ptr<PageBackend> backend_;
  std::shared_ptr<HostSwapTier> swap_tier_;
  PoolOptions options_;

  mutable std::mutex mutex_;
  std::map<uint64_t, Space> spaces_;
  struct Claim {
    std::string model;
    uint64_t bytes = 0;
  };
  std::map<uint64_t, Claim> claims_;
  uint64_t next_claim_id_ = 1;
  uint64_t next_space_id_ = 1;
  std::vector<Slab> slabs_;
  std::vector<uint32_t> free_slab_indices_;
  std::map<size_t, size_t> free_virtual_pages_;  // first page -> count
  uint64_t mapped_bytes_ = 0;
  uint64_t page_maps_ = 0;
  uint64_t page_unmaps_ = 0;
  uint64_t compactions_ = 0;
  uint64_t gc_runs_ = 0;

  std::condition_variable gc_wakeup_;
  bool gc_requested_ = false;
  bool stopping_ = false;
  std::thread gc_thread_;
};

}  // namespace citadel::cache
