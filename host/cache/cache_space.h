// CacheSpace: one model instance's view of its device's cache pool — block
// allocation, reference counts, prefix sharing, swap to the host tier — under
// the model's budget and eviction policy.
//
// Called by: host/sched (admission, block tables, preemption) and the plugin
// host services (block addresses). Created by CacheManager::create_space.
// Thread-safe: every method may be called from any thread.
//
// Vocabulary (vLLM's block pool, kvcached's elastic pages):
//  - a block holds `tokens_per_block` cache tokens of every layer of one
//    request; its bytes come from 2 MiB pages the pool maps on demand;
//  - a block is live (reference count > 0: used by running requests), cached
//    (count 0 but keyed by a prefix hash: reusable, evictable) or free;
//  - eviction drops cached blocks in the order of the model's policy;
//    preemption of live requests is the scheduler's decision (swap_out).
#pragma once

#include "host/config/model_config.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace citadel::cache {

using BlockId = uint32_t;
using PrefixHash = uint64_t;

struct BlockGeometry {
  uint32_t tokens_per_block = 16;
  uint64_t block_bytes = 0;  // tokens_per_block * layers * bytes_per_token_per_layer
};

struct CacheSpaceSettings {
  std::string model;
  BlockGeometry geometry;
  config::CacheSettings cache;  // size_mb, reserved_mb, eviction, gc_threshold
  // Device bytes of the model's weights (describe()'s device_weight_bytes):
  // taken from the pool's budget while the space exists.
  uint64_t weight_bytes = 0;
};

struct CacheSpaceStats {
  uint64_t budget_bytes = 0;    // size_mb
  uint64_t reserved_bytes = 0;  // reserved_mb
  uint64_t used_bytes = 0;      // live blocks
  uint64_t cached_bytes = 0;    // evictable cached blocks
  uint64_t mapped_bytes = 0;    // pages this space holds
  uint64_t swapped_bytes = 0;   // blocks in the host tier
  uint64_t weight_bytes = 0;    // the model's weights on the device (not cache)
  uint64_t total_blocks = 0;
  uint64_t live_blocks = 0;
  uint64_t cached_blocks = 0;
  uint64_t prefix_queries = 0;  // blocks looked up by match_prefix
  uint64_t prefix_hits = 0;     // of which found
  uint64_t evictions = 0;
  uint64_t swaps_out = 0;
  uint64_t swaps_in = 0;
  uint64_t compactions = 0;
  uint64_t gc_runs = 0;
};

// Blocks of a preempted request parked in the host tier.
struct SwappedBlocks {
  uint64_t ticket = 0;       // identifies the host-tier slots
  uint32_t num_blocks = 0;
};

class CacheSpace {
 public:
  virtual ~CacheSpace() = default;

  virtual const BlockGeometry& geometry() const = 0;
  virtual const std::string& model() const = 0;

  // Allocates `count` fresh blocks (reference count 1) and appends them to
  // `out`. To find room it evicts this space's cached blocks by policy, maps
  // pages, and reclaims pages from other spaces above their floor. Returns
  // false and allocates nothing when that is not enough: the caller then
  // preempts a live request or waits.
  virtual bool allocate(uint32_t count, std::vector<BlockId>& out) = 0;

  // Drops one reference to each block. A block reaching zero becomes cached
  // if it carries a prefix hash, else free.
  virtual void release(std::span<const BlockId> blocks) = 0;

  // Prefix caching. `hashes` are the chained hashes of the request's full
  // prompt blocks (prefix_hash.h). Returns the longest run of leading blocks
  // found, each with one more reference, appended to `out`.
  virtual uint32_t match_prefix(std::span<const PrefixHash> hashes, std::vector<BlockId>& out) = 0;
  // Marks a full, written block as holding the content `hash` so later
  // requests can share it.
  virtual void publish_prefix(BlockId block, PrefixHash hash) = 0;

  // Address of a block's bytes (host or device memory). Valid while
  // layout_version() is unchanged: only a compaction that moves live blocks
  // changes it, and then callers look the addresses up again.
  virtual void* address(BlockId block) const = 0;
  // address() of each block into out[i] (out.size() >= blocks.size()), under
  // one lock of the pool: what a step looks up for its sequences.
  virtual void addresses(std::span<const BlockId> blocks, std::span<void*> out) const = 0;
  // Changes whenever a referenced block of this space moves (compaction with
  // move_live); the address of a block that was allocated, matched or swapped
  // in stays what address() said until then.
  virtual uint64_t layout_version() const = 0;

  // Preemption by swapping: copies the blocks to the host tier, releases
  // them, and returns a ticket; nullopt when the host tier is full (then the
  // caller recomputes instead). swap_in allocates blocks, copies the data
  // back and appends the new ids, in order, to `out`; false when no room yet.
  virtual std::optional<SwappedBlocks> swap_out(std::span<const BlockId> blocks) = 0;
  virtual bool swap_in(const SwappedBlocks& swapped, std::vector<BlockId>& out) = 0;
  virtual void discard_swapped(const SwappedBlocks& swapped) = 0;

  virtual CacheSpaceStats stats() const = 0;
};

}  // namespace citadel::cache
