// ThreadPool: jobs handed over through atomics, workers that spin before
// they sleep.
//
// The hand-off, all with sequentially consistent atomics:
// - The caller writes the job, then sets open_ and posted_ to its
//   generation g, and wakes the workers that sleep.
// - A worker that sees posted_ change to g increments joined_, then reads
//   open_: only if it is still g does it take chunks. The caller, once the
//   chunks are all taken, sets open_ to 0 and then waits for joined_ to be 0.
//   Either the worker sees open_ closed (and leaves without touching the
//   job) or the caller sees it in joined_ (and waits for it): the job's
//   fields are never rewritten under a worker that reads them.
// - Sleeping goes through sleep_mutex_ with a counter read after the flag
//   it waits for is set, so a wake-up is never lost.
#include "runtime/core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace citadel::runtime {
namespace {

unsigned resolve_threads(unsigned requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? hardware : 1;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Polls `done` for about `microseconds`; true as soon as it holds.
template <typename Done>
bool spin_until(Done done, int microseconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(microseconds);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(unsigned num_threads) : num_threads_(resolve_threads(num_threads)) {
  workers_.reserve(num_threads_ - 1);
  for (unsigned i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::ThreadPool(const citadel_device_info& device) : ThreadPool(device.cpu_threads) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_chunks() {
  while (!failed_.load(std::memory_order_relaxed)) {
    const int64_t chunk_begin = next_chunk_.fetch_add(job_chunk_, std::memory_order_relaxed);
    if (chunk_begin >= job_end_) return;
    const int64_t chunk_end = std::min(job_end_, chunk_begin + job_chunk_);
    try {
      (*job_)(chunk_begin, chunk_end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!first_error_) first_error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    const auto posted = [&] { return posted_.load() != seen || stopping_.load(); };
    if (!spin_until(posted, kSpinMicroseconds)) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      sleeping_workers_.fetch_add(1);
      work_ready_.wait(lock, posted);
      sleeping_workers_.fetch_sub(1);
    }
    if (stopping_.load()) return;
    seen = posted_.load();
    joined_.fetch_add(1);
    if (open_.load() == seen) run_chunks();
    if (joined_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      job_done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t begin, int64_t end,
                              const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk) {
  if (end <= begin) return;
  const int64_t total = end - begin;
  min_chunk = std::max<int64_t>(1, min_chunk);
  // About four chunks per thread for balance, none smaller than min_chunk.
  const int64_t target_chunks = static_cast<int64_t>(num_threads_) * 4;
  const int64_t chunk = std::max(min_chunk, (total + target_chunks - 1) / target_chunks);
  // A nested call from inside a job (or a second caller) runs inline.
  if (num_threads_ == 1 || total <= min_chunk || busy_.exchange(true, std::memory_order_acquire)) {
    fn(begin, end);
    return;
  }
  job_ = &fn;
  job_end_ = end;
  job_chunk_ = chunk;
  next_chunk_.store(begin, std::memory_order_relaxed);
  failed_.store(false, std::memory_order_relaxed);
  const uint64_t generation = ++generation_;
  open_.store(generation);
  posted_.store(generation);
  if (sleeping_workers_.load() > 0) {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    work_ready_.notify_all();
  }
  run_chunks();
  // Every chunk is taken: no worker joins from here on; wait for those inside.
  open_.store(0);
  const auto left = [&] { return joined_.load() == 0; };
  if (!spin_until(left, kSpinMicroseconds)) {
    std::unique_lock<std::mutex> lock(sleep_mutex_);
    caller_sleeping_.store(true);
    job_done_.wait(lock, left);
    caller_sleeping_.store(false);
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    error = std::exchange(first_error_, nullptr);
  }
  job_ = nullptr;
  busy_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

}  // namespace citadel::runtime
