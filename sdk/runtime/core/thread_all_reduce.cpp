// ThreadAllReduce: two generation-counted barriers around a slice-per-rank sum.
#include "runtime/core/thread_all_reduce.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <array>

namespace citadel::runtime {
namespace {

// Elements summed per block: the block's partial sum stays in the cache
// while each rank's part of it is added.
constexpr size_t kBlockElements = 1024;

}  // namespace

ThreadAllReduce::ThreadAllReduce(int ranks) : ranks_(ranks) {
  if (ranks < 1) throw_invalid("ThreadAllReduce: " + std::to_string(ranks) + " ranks (at least 1)");
  buffers_.assign(static_cast<size_t>(ranks), nullptr);
  counts_.assign(static_cast<size_t>(ranks), 0);
}

void ThreadAllReduce::throw_aborted() {
  throw RuntimeError(CITADEL_ERR_INTERNAL, "tensor-parallel all-reduce aborted: another rank failed");
}

void ThreadAllReduce::sum(int rank, float* data, size_t count, void* /*stream*/) {
  if (rank < 0 || rank >= ranks_) {
    throw_invalid("ThreadAllReduce::sum: rank " + std::to_string(rank) + " of a group of " +
                  std::to_string(ranks_));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (aborted_) throw_aborted();
  if (ranks_ == 1) return;
  buffers_[static_cast<size_t>(rank)] = data;
  counts_[static_cast<size_t>(rank)] = count;
  arrive_and_wait(lock, /*check_counts=*/true);
  if (!count_mismatch_.empty()) throw_invalid(count_mismatch_);
  lock.unlock();

  // Rank r owns elements [begin, end): count / R each, the first count % R
  // ranks one more.
  const size_t ranks = static_cast<size_t>(ranks_);
  const size_t index = static_cast<size_t>(rank);
  const size_t base = count / ranks, extra = count % ranks;
  const size_t begin = index * base + std::min(index, extra);
  const size_t end = begin + base + (index < extra ? 1 : 0);
  sum_slice(begin, end);

  lock.lock();
  arrive_and_wait(lock, /*check_counts=*/false);
}

void ThreadAllReduce::sum_slice(size_t begin, size_t end) const {
  std::array<float, kBlockElements> total;
  for (size_t block = begin; block < end; block += kBlockElements) {
    const size_t n = std::min(kBlockElements, end - block);
    std::copy_n(buffers_[0] + block, n, total.begin());
    for (size_t r = 1; r < buffers_.size(); ++r) {
      const float* part = buffers_[r] + block;
      for (size_t i = 0; i < n; ++i) total[i] += part[i];
    }
    for (float* buffer : buffers_) std::copy_n(total.begin(), n, buffer + block);
  }
}

void ThreadAllReduce::arrive_and_wait(std::unique_lock<std::mutex>& lock, bool check_counts) {
  if (aborted_) throw_aborted();
  const uint64_t generation = generation_;
  if (++arrived_ < ranks_) {
    released_.wait(lock, [&] { return generation_ != generation || aborted_; });
    // Released before the abort: this barrier completed, the caller goes on.
    if (generation_ == generation) throw_aborted();
    return;
  }
  if (check_counts) {
    count_mismatch_.clear();
    for (size_t r = 1; r < counts_.size(); ++r) {
      if (counts_[r] != counts_[0]) {
        count_mismatch_ = "tensor-parallel all-reduce: rank 0 sums " + std::to_string(counts_[0]) +
                          " floats but rank " + std::to_string(r) + " sums " + std::to_string(counts_[r]) +
                          " (every rank must pass the same count)";
        break;
      }
    }
  }
  arrived_ = 0;
  ++generation_;
  released_.notify_all();
}

void ThreadAllReduce::abort() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
  }
  released_.notify_all();
}

void ThreadAllReduce::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_ = false;
  arrived_ = 0;
  count_mismatch_.clear();
}

}  // namespace citadel::runtime
