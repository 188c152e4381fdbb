// rank_kv_blocks.h — the K/V cache of a tensor-parallel rank other than 0
// (tensor_parallel_forward.h). The host's cache blocks hold rank 0's share
// of each block (its KV heads, every layer); every other rank keeps its share
// of the same block in memory of its own (host memory for CPU ranks, the
// rank's GPU for CUDA ranks), found by the host's block id. Ids keep their
// place for the life of the object, so the host's compaction (which moves
// rank 0's data, never an id) and prefix sharing (same id, same content)
// need nothing here. Slabs of kBlocksPerSlab blocks are allocated on the
// first use of an id in them and kept until the model is destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace citadel::llm {

class RankKvBlocks {
 public:
  static constexpr uint32_t kBlocksPerSlab = 64;

  // `cuda_device` < 0: host memory; else memory of that CUDA device (which
  // must be current on the calling thread whenever addresses() allocates).
  RankKvBlocks(uint64_t block_bytes, int cuda_device);
  ~RankKvBlocks();
  RankKvBlocks(const RankKvBlocks&) = delete;
  RankKvBlocks& operator=(const RankKvBlocks&) = delete;

  // Appends the addresses of blocks `ids` to `out`, allocating slabs as needed.
  void addresses(std::span<const uint32_t> ids, std::vector<void*>& out);

  // Bytes allocated so far.
  uint64_t bytes() const { return allocated_slabs_ * slab_bytes_; }

 private:
  struct Slab;
  uint64_t block_bytes_;
  uint64_t slab_bytes_;
  int cuda_device_;
  std::vector<std::unique_ptr<Slab>> slabs_;  // by id / kBlocksPerSlab, null until used
  uint64_t allocated_slabs_ = 0;
};

}  // namespace citadel::llm
