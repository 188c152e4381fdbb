// PooledCacheSpace: thin forwarding to DevicePool.
#include "host/cache/pooled_cache_space.h"

#include "host/cache/device_pool.h"

namespace citadel::cache {

PooledCacheSpace::PooledCacheSpace(std::shared_ptr<DevicePool> pool, uint64_t id, std::string model,
                                   BlockGeometry geometry)
    : pool_(std::move(pool)), id_(id), model_(std::move(model)), geometry_(geometry) {}

PooledCacheSpace::~PooledCacheSpace() { pool_->destroy_space(id_); }

bool PooledCacheSpace::allocate(uint32_t count, std::vector<BlockId>& out) { return pool_->allocate(id_, count, out); }
void PooledCacheSpace::release(std::span<const BlockId> blocks) { pool_->release(id_, blocks); }
uint32_t PooledCacheSpace::match_prefix(std::span<const PrefixHash> hashes, std::vector<BlockId>& out) {
  return pool_->match_prefix(id_, hashes, out);
}
void PooledCacheSpace::publish_prefix(BlockId block, PrefixHash hash) { pool_->publish_prefix(id_, block, hash); }
void* PooledCacheSpace::address(BlockId block) const { return pool_->address(id_, block); }
void PooledCacheSpace::addresses(std::span<const BlockId> blocks, std::span<void*> out) const {
  pool_->addresses(id_, blocks, out);
}
uint64_t PooledCacheSpace::layout_version() const { return pool_->layout_version(id_); }
std::optional<SwappedBlocks> PooledCacheSpace::swap_out(std::span<const BlockId> blocks) {
  return pool_->swap_out(id_, blocks);
}
bool PooledCacheSpace::swap_in(const SwappedBlocks& swapped, std::vector<BlockId>& out) {
  return pool_->swap_in(id_, swapped, out);
}
void PooledCacheSpace::discard_swapped(const SwappedBlocks& swapped) { pool_->discard_swapped(id_, swapped); }
CacheSpaceStats PooledCacheSpace::stats() const { return pool_->space_stats(id_); }

}  // namespace citadel::cache
