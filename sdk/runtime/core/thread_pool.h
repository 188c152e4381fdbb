// ThreadPool: a fixed set of worker threads for data-parallel CPU kernels.
// parallel_for splits [begin, end) into contiguous chunks, runs them on the
// workers and the calling thread, and returns when all are done (rethrowing
// the first exception). One parallel_for at a time per pool (a model instance
// is called from one host thread at a time); nested calls run inline.
// Created by plugins from citadel_device_info::cpu_threads; used by kernels.
#pragma once

#include <citadel/plugin.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace citadel::runtime {

class ThreadPool {
 public:
  // Runs on `num_threads` threads in total, the caller included;
  // 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(unsigned num_threads = 0);
  // Sized from the host's device info (cpu_threads; 0 means all cores).
  explicit ThreadPool(const citadel_device_info& device);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const { return num_threads_; }

  // Calls fn(chunk_begin, chunk_end) over disjoint chunks covering
  // [begin, end), each at least `min_chunk` long (except the last).
  void parallel_for(int64_t begin, int64_t end,
                    const std::function<void(int64_t, int64_t)>& fn, int64_t min_chunk = 1);

 private:
  void worker_loop(unsigned worker_index);
  void run_chunks();

  unsigned num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  bool stopping_ = false;
  bool busy_ = false;
  uint64_t generation_ = 0;
  unsigned workers_active_ = 0;
  // The current job.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_end_ = 0, job_chunk_ = 1;
  int64_t next_chunk_ = 0;
  std::exception_ptr first_error_;
};

}  // namespace citadel::runtime
