// ThreadPool: a fixed set of worker threads for data-parallel CPU kernels.
// parallel_for splits [begin, end) into contiguous chunks, runs them on the
// workers and the calling thread, and returns when all are done (rethrowing
// the first exception). One parallel_for at a time per pool (a model instance
// is called from one host thread at a time); nested calls run inline.
// A decode step of a small model is a few hundred short jobs, so the hand-off
// is lock-free: chunks come from an atomic counter, and a worker that has
// finished a job spins for the next one for kSpinMicroseconds before it
// sleeps on a condition variable (as llama.cpp's and OpenMP's pools do);
// the caller spins the same way for the workers' last chunks.
// Created by plugins from citadel_device_info::cpu_threads; used by kernels.
#pragma once

#include <citadel/plugin.h>

#include <atomic>
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
  // How long an idle worker (or the caller, waiting for the workers) polls
  // before it sleeps: longer than the gaps between one step's jobs.
  static constexpr int kSpinMicroseconds = 200;

  void worker_loop();
  void run_chunks();

  unsigned num_threads_;
  std::vector<std::thread> workers_;

  // The current job: written by the caller (who owns `busy_`) before it
  // publishes the job's generation in `open_` and `posted_`, read by the
  // workers that joined it; not rewritten until every joined worker left.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_end_ = 0, job_chunk_ = 1;
  uint64_t generation_ = 0;  // the caller's count of jobs
  std::atomic<int64_t> next_chunk_{0};
  std::atomic<uint64_t> posted_{0};  // the last job posted: workers wait for it to change
  std::atomic<uint64_t> open_{0};    // the job workers may still join (0: none)
  std::atomic<unsigned> joined_{0};  // workers inside a job
  std::atomic<bool> busy_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopping_{false};
  std::mutex error_mutex_;
  std::exception_ptr first_error_;
  // Sleeping after the spin: workers on work_ready_, the caller on job_done_.
  std::mutex sleep_mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::atomic<unsigned> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
};

}  // namespace citadel::runtime
