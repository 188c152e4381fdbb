// MemoryCacheSpace: a minimal CacheSpace over plain heap blocks for the plugin
// registry's unit tests (no pages, no eviction). `corrupt` flips a byte so a
// test can check that the echo plugin notices.
//
// Used by tests/plugins_registry/*_test.cpp only.
#pragma once

#include "host/cache/cache_space.h"

#include <mutex>
#include <vector>

namespace citadel::test {

class MemoryCacheSpace : public cache::CacheSpace {
 public:
  MemoryCacheSpace(std::string model, cache::BlockGeometry geometry, uint32_t capacity_blocks)
      : model_(std::move(model)), geometry_(geometry), blocks_(capacity_blocks),
        used_(capacity_blocks, false) {
    for (auto& block : blocks_) block.assign(geometry_.block_bytes, std::byte{0});
  }

  const cache::BlockGeometry& geometry() const override { return geometry_; }
  const std::string& model() const override { return model_; }

  bool allocate(uint32_t count, std::vector<cache::BlockId>& out) override {
    std::lock_guard lock(mutex_);
    std::vector<cache::BlockId> found;
    for (cache::BlockId id = 0; id < used_.size() && found.size() < count; ++id) {
      if (!used_[id]) found.push_back(id);
    }
    if (found.size() < count) return false;
    for (cache::BlockId id : found) used_[id] = true;
    out.insert(out.end(), found.begin(), found.end());
    return true;
  }
  void release(std::span<const cache::BlockId> blocks) override {
    std::lock_guard lock(mutex_);
    for (cache::BlockId id : blocks) used_[id] = false;
  }
  uint32_t match_prefix(std::span<const cache::PrefixHash>, std::vector<cache::BlockId>&) override {
    return 0;
  }
  void publish_prefix(cache::BlockId, cache::PrefixHash) override {}
  void* address(cache::BlockId block) const override {
    if (block >= blocks_.size()) return nullptr;
    return const_cast<std::byte*>(blocks_[block].data());
  }
  std::optional<cache::SwappedBlocks> swap_out(std::span<const cache::BlockId>) override {
    return std::nullopt;
  }
  bool swap_in(const cache::SwappedBlocks&, std::vector<cache::BlockId>&) override { return false; }
  void discard_swapped(const cache::SwappedBlocks&) override {}
  cache::CacheSpaceStats stats() const override { return {}; }

  void corrupt(cache::BlockId block, size_t offset) {
    blocks_[block][offset] ^= std::byte{0x5a};
  }

 private:
  std::string model_;
  cache::BlockGeometry geometry_;
  std::vector<std::vector<std::byte>> blocks_;
  std::vector<bool> used_;
  std::mutex mutex_;
};

}  // namespace citadel::test
