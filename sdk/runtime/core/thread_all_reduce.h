// ThreadAllReduce: the AllReduce (all_reduce.h) of ranks that are threads of
// one process summing host buffers. Used by the CPU tensor-parallel path and,
// over pinned staging buffers, by cuda::StagedAllReduce.
// Each sum() publishes the rank's buffer, waits for every rank, sums its own
// contiguous slice of the elements over ranks 0..R-1 in that order (so the
// result is deterministic and bit-identical on every rank), writes it into
// that slice of every rank's buffer, and waits again so that no rank returns
// before all slices are written. Thread-safe: one sum() at a time per rank;
// abort() from any thread; reset() only while no rank is inside sum().
#pragma once

#include "runtime/core/all_reduce.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::runtime {

class ThreadAllReduce final : public AllReduce {
 public:
  // `ranks` >= 1 threads will call sum(); throws RuntimeError otherwise.
  explicit ThreadAllReduce(int ranks);
  ThreadAllReduce(const ThreadAllReduce&) = delete;
  ThreadAllReduce& operator=(const ThreadAllReduce&) = delete;

  int ranks() const override { return ranks_; }
  // `stream` is ignored. Every rank must pass the same `count`: otherwise
  // every rank throws RuntimeError naming both counts (buffers unchanged).
  void sum(int rank, float* data, size_t count, void* stream) override;
  void abort() override;
  void reset() override;

 private:
  // Waits until all ranks have arrived (the lock held on entry and return);
  // throws when the group is aborted before they have. The last rank to
  // arrive checks the published counts when `check_counts` is set.
  void arrive_and_wait(std::unique_lock<std::mutex>& lock, bool check_counts);
  // Sums elements [begin, end) over the published buffers into all of them.
  void sum_slice(size_t begin, size_t end) const;
  [[noreturn]] static void throw_aborted();

  const int ranks_;
  std::mutex mutex_;
  std::condition_variable released_;
  // Barrier state (under mutex_): ranks arrived in the current generation;
  // a generation ends when the last one arrives.
  int arrived_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
  // Published by each rank under mutex_ before the first barrier, read by
  // every rank between the two barriers (the barrier orders the accesses).
  std::vector<float*> buffers_;
  std::vector<size_t> counts_;
  // The count disagreement of the last completed first barrier ("" when the
  // counts agreed); stable until every rank has arrived at the next one.
  std::string count_mismatch_;
};

}  // namespace citadel::runtime
