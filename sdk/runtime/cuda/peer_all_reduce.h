// PeerAllReduce: the AllReduce (runtime/core/all_reduce.h) of tensor-parallel
// ranks on distinct GPUs of one process that can read each other's memory
// (peer access over NVLink), for the small sums of a decode step (a few rows
// of hidden states): one kernel per rank and call copies the rank's buffer
// into a staging buffer of its own, meets the other ranks through flags each
// block writes into the others' memory, and sums every rank's staging buffer
// in rank order (the one-shot all-reduce of TensorRT-LLM and vLLM's custom
// all-reduce). The result is bit-identical on every rank. Sums larger than
// kPeerAllReduceMaxFloats, or of a count that is not a multiple of 4, go to
// the group given as `large` (NCCL). Enqueued on the rank's stream only, so
// CUDA graphs capture it. Used by llm-gptq's TensorParallelForward.
//
// A rank that never arrives (its thread failed before launching its kernel)
// leaves the others' blocks waiting: they give up after 10 s with a wrong
// sum, and the caller, told by abort(), treats the group as broken (reset()
// throws). Staging and flags take 2 x 4 x kPeerAllReduceMaxFloats bytes and
// a few KB per rank, on the rank's device.
#pragma once

#include "runtime/core/all_reduce.h"
#include "runtime/cuda/device_buffer.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace citadel::runtime::cuda {

inline constexpr size_t kPeerAllReduceMaxFloats = size_t{1} << 19;  // 2 MB: 128 rows of 4096

class PeerAllReduce final : public AllReduce {
 public:
  // True when the ordinals are distinct, at most 8, and every device can
  // access every other's memory (cudaDeviceCanAccessPeer).
  static bool supported(const std::vector<int>& device_ordinals);

  // Enables peer access between the devices and allocates each rank's
  // staging buffers and flags on its device. Throws RuntimeError when
  // !supported(device_ordinals) or on a CUDA failure. `shared_device`: the
  // ordinals may repeat (ranks sharing a GPU: the one-GPU tests of the
  // kernel; nothing is gained in service).
  PeerAllReduce(std::vector<int> device_ordinals, std::unique_ptr<AllReduce> large, bool shared_device = false);
  ~PeerAllReduce() override;
  PeerAllReduce(const PeerAllReduce&) = delete;
  PeerAllReduce& operator=(const PeerAllReduce&) = delete;

  int ranks() const override { return static_cast<int>(devices_.size()); }
  // `data`: device memory of the rank's device, current on the calling
  // thread; `stream` a cudaStream_t on it.
  void sum(int rank, float* data, size_t count, void* stream) override;
  bool capturable() const override { return large_->capturable(); }
  void abort() override;
  // Throws after abort(): the ranks' flags no longer agree.
  void reset() override;

 private:
  struct Rank {
    DeviceBuffer staging;  // [2][kPeerAllReduceMaxFloats] floats
    DeviceBuffer flags;    // [2][ranks][kMaxBlocks] uint32, zeroed
    DeviceBuffer epoch;    // [2] uint32: the call count, blocks done
  };
  std::vector<int> devices_;
  std::vector<Rank> ranks_;
  std::unique_ptr<AllReduce> large_;
  std::atomic<bool> aborted_{false};
};

}  // namespace citadel::runtime::cuda
