// StagedAllReduce: the AllReduce (runtime/core/all_reduce.h) of device
// buffers on any CUDA devices, the same device for several ranks included,
// through host memory: each rank copies its buffer into its own pinned
// staging buffer, a ThreadAllReduce sums the staging buffers, and each rank
// copies the sum back. The tensor-parallel path uses it where NCCL is absent
// or cannot serve (two ranks on one GPU: the [cuda] tests on a one-GPU machine).
// sum() waits on the rank's stream twice, so it is not capturable. Thread-safe
// as ThreadAllReduce: one sum() at a time per rank, each rank on its own thread.
#pragma once

#include "runtime/core/all_reduce.h"
#include "runtime/core/thread_all_reduce.h"
#include "runtime/cuda/pinned_buffer.h"

#include <cstddef>
#include <vector>

namespace citadel::runtime::cuda {

class StagedAllReduce final : public AllReduce {
 public:
  // Rank r's buffers live on device device_ordinals[r]; ordinals may repeat.
  // Throws RuntimeError when the list is empty.
  explicit StagedAllReduce(std::vector<int> device_ordinals);
  StagedAllReduce(const StagedAllReduce&) = delete;
  StagedAllReduce& operator=(const StagedAllReduce&) = delete;

  int ranks() const override { return host_sum_.ranks(); }
  // Makes the rank's device current on the calling thread, then sums `count`
  // floats at device address `data`, ordered after the work queued on
  // `stream` (a cudaStream_t); returns with the sum in `data` and `stream`
  // drained. Every rank must pass the same count.
  void sum(int rank, float* data, size_t count, void* stream) override;
  void abort() override { host_sum_.abort(); }
  void reset() override { host_sum_.reset(); }

 private:
  static int checked_ranks(const std::vector<int>& device_ordinals);

  std::vector<int> devices_;
  // staging_[r]: rank r's pinned copy of its buffer, grown by rank r's thread
  // alone (the vector itself never changes size).
  std::vector<PinnedHostBuffer> staging_;
  ThreadAllReduce host_sum_;
};

}  // namespace citadel::runtime::cuda
