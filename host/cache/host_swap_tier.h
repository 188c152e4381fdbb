// HostSwapTier: the host-memory tier that preempted requests' blocks are
// swapped to (vLLM's --swap-space). Allocated once at start in chunks (pinned
// through the CUDA backend when there is one: pinning is slow), then carved
// first-fit into per-block regions grouped under tickets.
//
// Called by: DevicePool (swap_out / swap_in / discard_swapped), shared by all
// pools of a CacheManager. Thread-safe.
#pragma once

#include "host/cache/page_backend.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace citadel::cache {

struct SwapTierStats {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  uint64_t tickets = 0;
  uint32_t chunks = 0;
  bool pinned = false;
};

class HostSwapTier {
 public:
  static constexpr size_t kChunkBytes = size_t{256} << 20;

  // `allocator` provides the host memory (its allocate_host/free_host) and is
  // kept alive by the tier. capacity 0: a tier that never stores anything.
  HostSwapTier(uint64_t capacity_bytes, std::shared_ptr<PageBackend> allocator, bool pinned);
  ~HostSwapTier();
  HostSwapTier(const HostSwapTier&) = delete;
  HostSwapTier& operator=(const HostSwapTier&) = delete;

  // Reserves `count` regions of `bytes_each` for `owner`; all or nothing.
  // Returns the ticket, or nullopt when the tier has no room.
  std::optional<uint64_t> reserve(uint64_t owner, uint32_t count, size_t bytes_each);
  // The regions of a ticket, in order; throws std::invalid_argument when the
  // ticket is unknown or belongs to another owner.
  const std::vector<void*>& regions(uint64_t owner, uint64_t ticket) const;
  size_t region_bytes(uint64_t owner, uint64_t ticket) const;
  void release(uint64_t owner, uint64_t ticket);
  // Releases every ticket of `owner` (a destroyed cache space).
  void release_owner(uint64_t owner);

  SwapTierStats stats() const;

 private:
  struct Chunk {
    std::byte* memory = nullptr;
    size_t bytes = 0;
    std::map<size_t, size_t> free_ranges;  // offset -> length
  };
  struct Ticket {
    uint64_t owner = 0;
    size_t bytes_each = 0;
    std::vector<void*> regions;
  };

  const Ticket& find(uint64_t owner, uint64_t ticket) const;
  void* take_region(size_t bytes);
  void give_back_region(void* region, size_t bytes);
  void release_locked(std::map<uint64_t, Ticket>::iterator ticket);

  mutable std::mutex mutex_;
  std::shared_ptr<PageBackend> allocator_;
  bool pinned_;
  std::vector<Chunk> chunks_;
  std::map<uint64_t, Ticket> tickets_;
  uint64_t next_ticket_ = 1;
  uint64_t capacity_bytes_ = 0;
  uint64_t used_bytes_ = 0;
};

}  // namespace citadel::cache
