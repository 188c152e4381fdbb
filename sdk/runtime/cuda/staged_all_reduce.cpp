// StagedAllReduce: device -> pinned host copy, ThreadAllReduce, copy back.
#include "runtime/cuda/staged_all_reduce.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>
#include <utility>

namespace citadel::runtime::cuda {

int StagedAllReduce::checked_ranks(const std::vector<int>& device_ordinals) {
  if (device_ordinals.empty()) fail_invalid("StagedAllReduce: no devices (one per rank)");
  return static_cast<int>(device_ordinals.size());
}

StagedAllReduce::StagedAllReduce(std::vector<int> device_ordinals)
    : devices_(std::move(device_ordinals)),
      staging_(devices_.size()),
      host_sum_(checked_ranks(devices_)) {}

void StagedAllReduce::sum(int rank, float* data, size_t count, void* stream) {
  if (rank < 0 || rank >= ranks()) {
    fail_invalid("StagedAllReduce::sum: rank " + std::to_string(rank) + " of a group of " +
                 std::to_string(ranks()));
  }
  const size_t bytes = count * sizeof(float);
  PinnedHostBuffer& staging = staging_[static_cast<size_t>(rank)];
  if (bytes > 0) {
    check_cuda(cudaSetDevice(devices_[static_cast<size_t>(rank)]), "StagedAllReduce: cudaSetDevice");
    if (staging.size() < bytes) {
      // Doubling: a few allocations while the step's shapes grow; the old
      // buffer goes first so that both are never held.
      const size_t grown = std::max(bytes, 2 * staging.size());
      staging = PinnedHostBuffer();
      staging = PinnedHostBuffer(grown, "all-reduce staging");
    }
    staging.copy_from_device_async(data, bytes, 0, stream);
    check_cuda(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)),
               "StagedAllReduce: waiting for the copy to the host");
  }
  // Every rank takes part, even with nothing to sum, so that the counts are
  // compared and no rank waits alone.
  host_sum_.sum(rank, staging.as<float>(), count, nullptr);
  if (bytes == 0) return;
  staging.copy_to_device_async(data, bytes, 0, stream);
  // The staging buffer is rewritten by the next sum (by the other ranks too):
  // the copy must be done before this returns.
  check_cuda(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)),
             "StagedAllReduce: waiting for the copy back to the device");
}

}  // namespace citadel::runtime::cuda
