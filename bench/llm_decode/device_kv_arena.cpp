// DeviceKvArena: one device allocation cut into blocks.
#include "device_kv_arena.h"

#include "runtime/cuda/random_fill.h"

namespace citadel::llm {

DeviceKvArena::DeviceKvArena(const KvGeometry& kv, size_t sequences, size_t positions)
    : blocks_per_sequence_((positions + kTokensPerBlock - 1) / kTokensPerBlock),
      storage_(sequences * blocks_per_sequence_ * kv.block_bytes(), "bench KV blocks") {
  runtime::cuda::fill_uniform_f16(storage_.as<uint16_t>(), static_cast<int64_t>(storage_.size() / 2), -1.0f, 1.0f, 77,
                                  nullptr);
  runtime::cuda::synchronize();
  for (size_t b = 0; b < sequences * blocks_per_sequence_; ++b) {
    addresses_.push_back(storage_.as<std::byte>() + b * kv.block_bytes());
    ids_.push_back(static_cast<uint32_t>(b));
  }
}

}  // namespace citadel::llm
