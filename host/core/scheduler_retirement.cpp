#include "host/core/scheduler_retirement.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace citadel::core {

SchedulerRetirement::~SchedulerRetirement() { wait(); }

void SchedulerRetirement::retire(std::shared_ptr<sched::ModelScheduler> scheduler,
                                 std::function<void()> after) {
  std::lock_guard lock(mutex_);
  join_finished_locked();
  Retiring& entry = retiring_.emplace_back();
  entry.model = scheduler->model();
  entry.scheduler = scheduler;
  entry.thread = std::thread([this, &entry, scheduler = std::move(scheduler),
                              after = std::move(after)]() mutable {
    const auto start = std::chrono::steady_clock::now();
    const std::string model = scheduler->model();
    const uint64_t generation = scheduler->instance()->generation();
    try {
      scheduler->drain();
      scheduler->stop();
      scheduler.reset();
      if (after) after();
    } catch (const std::exception& e) {
      spdlog::error("retiring model {} (generation {}) failed: {}", model, generation, e.what());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("model {} (generation {}) drained and released after {:.3f} s", model,
                 generation, seconds);
    std::lock_guard done_lock(mutex_);
    entry.done = true;
    finished_.notify_all();
  });
}

void SchedulerRetirement::join_finished_locked() {
  for (auto it = retiring_.begin(); it != retiring_.end();) {
    if (it->done) {
      it->thread.join();
      it = retiring_.erase(it);
    } else {
      ++it;
    }
  }
}

void SchedulerRetirement::wait() {
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] {
    for (const Retiring& entry : retiring_) {
      if (!entry.done) return false;
    }
    return true;
  });
  join_finished_locked();
}

void SchedulerRetirement::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  finished_.wait_until(lock, deadline, [&] {
    for (const Retiring& entry : retiring_) {
      if (!entry.done) return false;
    }
    return true;
  });
}

uint64_t SchedulerRetirement::stop_all() {
  std::vector<std::shared_ptr<sched::ModelScheduler>> left;
  {
    std::lock_guard lock(mutex_);
    for (const Retiring& entry : retiring_) {
      if (auto scheduler = entry.scheduler.lock()) left.push_back(std::move(scheduler));
    }
  }
  uint64_t cancelled = 0;
  for (const auto& scheduler : left) {
    cancelled += scheduler->stats().in_flight;
    scheduler->stop();
  }
  return cancelled;
}

std::vector<std::string> SchedulerRetirement::draining() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> models;
  for (const Retiring& entry : retiring_) {
    if (!entry.done) models.push_back(entry.model);
  }
  return models;
}

}  // namespace citadel::core
