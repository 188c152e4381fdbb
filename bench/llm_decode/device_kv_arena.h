// device_kv_arena.h — cache blocks in device memory for bench_llm_decode's
// CUDA modes (bench_cuda.cpp, bench_tensor_parallel.cpp): `sequences`
// sequences of up to `positions` tokens, random f16 values in [-1, 1) (a
// valid cache that is not all zeros), each block with an id as the host's
// pool would give (tensor-parallel ranks past the first find theirs by it).
#pragma once

#include "kv_layout.h"

#include "runtime/cuda/device_buffer.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace citadel::llm {

class DeviceKvArena {
 public:
  DeviceKvArena(const KvGeometry& kv, size_t sequences, size_t positions);
  std::span<void* const> sequence(size_t i) const {
    return std::span<void* const>(addresses_).subspan(i * blocks_per_sequence_, blocks_per_sequence_);
  }
  std::span<const uint32_t> sequence_ids(size_t i) const {
    return std::span<const uint32_t>(ids_).subspan(i * blocks_per_sequence_, blocks_per_sequence_);
  }

 private:
  size_t blocks_per_sequence_;
  runtime::cuda::DeviceBuffer storage_;
  std::vector<void*> addresses_;
  std::vector<uint32_t> ids_;
};

}  // namespace citadel::llm
