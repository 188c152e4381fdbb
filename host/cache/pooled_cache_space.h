// PooledCacheSpace: the CacheSpace the scheduler holds for one model; forwards
// every call to its DevicePool by space id and gives the space's blocks,
// pages and swap tickets back when destroyed.
//
// Created by DevicePool::create_space only.
#pragma once

#include "host/cache/cache_space.h"

#include <memory>

namespace citadel::cache {

class DevicePool;

class PooledCacheSpace final : public CacheSpace {
 public:
  PooledCacheSpace(std::shared_ptr<DevicePool> pool, uint64_t id, std::string model, BlockGeometry geometry);
  ~PooledCacheSpace() override;

  const BlockGeometry& geometry() const override { return geometry_; }
  const std::string& model() const override { return model_; }
  bool allocate(uint32_t count, std::vector<BlockId>& out) override;
  void release(std::span<const BlockId> blocks) override;
  uint32_t match_prefix(std::span<const PrefixHash> hashes, std::vector<BlockId>& out) override;
  void publish_prefix(BlockId block, PrefixHash hash) override;
  void* address(BlockId block) const override;
  void addresses(std::span<const BlockId> blocks, std::span<void*> out) const override;
  uint64_t layout_version() const override;
  std::optional<SwappedBlocks> swap_out(std::span<const BlockId> blocks) override;
  bool swap_in(const SwappedBlocks& swapped, std::vector<BlockId>& out) override;
  void discard_swapped(const SwappedBlocks& swapped) override;
  CacheSpaceStats stats() const override;

 private:
  std::shared_ptr<DevicePool> pool_;
  uint64_t id_;
  std::string model_;
  BlockGeometry geometry_;
};

}  // namespace citadel::cache
