// SchedulerRetirement: schedulers that a reload took out of routing finish
// their in-flight requests here, in the background, and are then stopped and
// released (which destroys the instance and closes its library when nothing
// else holds them).
//
// Used by ReloadCoordinator (retire) and Host at shutdown (wait). Thread-safe.
#pragma once

#include "host/sched/model_scheduler.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace citadel::core {

class SchedulerRetirement {
 public:
  SchedulerRetirement() = default;
  ~SchedulerRetirement();  // wait()
  SchedulerRetirement(const SchedulerRetirement&) = delete;
  SchedulerRetirement& operator=(const SchedulerRetirement&) = delete;

  // Drains `scheduler` on a thread of its own, stops it, lets go of it, then
  // runs `after` (may be empty).
  void retire(std::shared_ptr<sched::ModelScheduler> scheduler, std::function<void()> after);
  // Blocks until every retirement so far has finished.
  void wait();
  // Waits like wait() but not past `deadline`.
  void wait_until(std::chrono::steady_clock::time_point deadline);
  // Stops (cancels the requests of) every scheduler still draining; returns
  // how many requests that cancelled. Shutdown, after the grace time.
  uint64_t stop_all();
  // Models still draining, for `status`.
  std::vector<std::string> draining() const;

 private:
  struct Retiring {
    std::string model;
    std::weak_ptr<sched::ModelScheduler> scheduler;
    std::thread thread;
    bool done = false;
  };
  void join_finished_locked();

  mutable std::mutex mutex_;
  std::condition_variable finished_;
  std::list<Retiring> retiring_;  // entries stay put: their threads write `done`
};

}  // namespace citadel::core
