// RankKvBlocks: slabs of blocks in host or device memory, by block id.
#include "rank_kv_blocks.h"

#include "runtime/core/error.h"

#ifdef CITADEL_HAVE_CUDA
#include "runtime/cuda/device_buffer.h"
#endif

#include <string>

namespace citadel::llm {

struct RankKvBlocks::Slab {
  std::unique_ptr<std::byte[]> host;
#ifdef CITADEL_HAVE_CUDA
  runtime::cuda::DeviceBuffer device;
#endif
  std::byte* base = nullptr;
};

RankKvBlocks::RankKvBlocks(uint64_t block_bytes, int cuda_device)
    : block_bytes_(block_bytes), slab_bytes_(block_bytes * kBlocksPerSlab), cuda_device_(cuda_device) {
#ifndef CITADEL_HAVE_CUDA
  if (cuda_device_ >= 0) runtime::throw_invalid("tensor-parallel K/V blocks on a CUDA device need a CUDA build");
#endif
}

RankKvBlocks::~RankKvBlocks() = default;

void RankKvBlocks::addresses(std::span<const uint32_t> ids, std::vector<void*>& out) {
  for (const uint32_t id : ids) {
    const size_t slab_index = id / kBlocksPerSlab;
    if (slab_index >= slabs_.size()) slabs_.resize(slab_index + 1);
    std::unique_ptr<Slab>& slab = slabs_[slab_index];
    if (!slab) {
      auto made = std::make_unique<Slab>();
      if (cuda_device_ < 0) {
        made->host = std::make_unique<std::byte[]>(slab_bytes_);
        made->base = made->host.get();
      } else {
#ifdef CITADEL_HAVE_CUDA
        made->device = runtime::cuda::DeviceBuffer(slab_bytes_, "tensor-parallel rank K/V blocks");
        made->base = static_cast<std::byte*>(made->device.data());
#endif
      }
      slab = std::move(made);
      ++allocated_slabs_;
    }
    out.push_back(slab->base + (id % kBlocksPerSlab) * block_bytes_);
  }
}

}  // namespace citadel::llm
