// ThreadPool: workers wait for a job, grab chunks from a shared counter.
#include "runtime/core/thread_pool.h"

#include <algorithm>

namespace citadel::runtime {
namespace {

unsigned resolve_threads(unsigned requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? hardware : 1;
}

}  // namespace

ThreadPool::ThreadPool(unsigned num_threads) : num_threads_(resolve_threads(num_threads)) {
  workers_.reserve(num_threads_ - 1);
  for (unsigned i = 1; i < num_threads_; ++i) {
    workers_.emplace_back([this, i] { worker_loop(i); });
  }
}

ThreadPool::ThreadPool(const citadel_device_info& device) : ThreadPool(device.cpu_threads) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    int64_t chunk_begin, chunk_end;
    const std::function<void(int64_t, int64_t)>* job;
    {
      // A worker may wake after its job ended (or failed): job_ is null then.
      std::lock_guard<std::mutex> lock(mutex_);
      if (job_ == nullptr || next_chunk_ >= job_end_ || first_error_) return;
      job = job_;
      chunk_begin = next_chunk_;
      chunk_end = std::min(job_end_, next_chunk_ + job_chunk_);
      next_chunk_ = chunk_end;
    }
    try {
      (*job)(chunk_begin, chunk_end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_error_) first_error_ = std::current_exception();
    }
  }
}

void ThreadPool::worker_loop(unsigned /*worker_index*/) {
  uint64_t seen_generation = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
      ++workers_active_;
    }
    run_chunks();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --workers_active_;
    }
    work_done_.notify_all();
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
  bool run_inline = num_threads_ == 1 || total <= min_chunk;
  if (!run_inline) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (busy_) {
      run_inline = true;  // a nested call from inside a job (or a second caller)
    } else {
      busy_ = true;
      job_ = &fn;
      job_end_ = end;
      job_chunk_ = chunk;
      next_chunk_ = begin;
      first_error_ = nullptr;
      ++generation_;
    }
  }
  if (run_inline) {
    fn(begin, end);
    return;
  }
  work_ready_.notify_all();
  run_chunks();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Wait until all chunks are handed out and every worker has left the job.
    work_done_.wait(lock, [&] {
      return (next_chunk_ >= job_end_ || first_error_) && workers_active_ == 0;
    });
    error = first_error_;
    first_error_ = nullptr;
    job_ = nullptr;  // late-waking workers find no job
    next_chunk_ = job_end_;
    busy_ = false;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace citadel::runtime
