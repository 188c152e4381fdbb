#include "host/sched/scheduler_health.h"

#include <algorithm>

namespace citadel::sched {

SchedulerHealth::SchedulerHealth(uint32_t max_step_failures)
    : max_step_failures_(std::max<uint32_t>(1, max_step_failures)) {}

bool SchedulerHealth::fail(const std::string& what, bool device_fatal) {
  std::lock_guard lock(mutex_);
  if (device_fatal) device_fatal_ = true;
  if (failed_.load()) return false;
  failure_ = what;
  failed_ = true;
  return true;
}

bool SchedulerHealth::record_faulty_step(const std::string& what) {
  const uint32_t count = ++consecutive_;
  if (count < max_step_failures_) return false;
  return fail(std::to_string(count) + " faulty steps in a row, the last: " + what, false);
}

void SchedulerHealth::record_clean_step() { consecutive_ = 0; }

bool SchedulerHealth::record_fatal(const std::string& what, bool device_fatal) {
  return fail(what, device_fatal);
}

std::string SchedulerHealth::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void SchedulerHealth::mark_busy(Clock::time_point now) {
  busy_since_ = now.time_since_epoch().count();
}

void SchedulerHealth::mark_idle() { busy_since_ = kIdle; }

std::chrono::nanoseconds SchedulerHealth::busy_for(Clock::time_point now) const {
  const int64_t since = busy_since_.load();
  if (since == kIdle) return std::chrono::nanoseconds(0);
  const Clock::time_point start{Clock::duration(since)};
  return std::max(std::chrono::nanoseconds(0),
                  std::chrono::duration_cast<std::chrono::nanoseconds>(now - start));
}

bool SchedulerHealth::stalled(Clock::time_point now, std::chrono::nanoseconds bound) const {
  return busy_for(now) > bound;
}

}  // namespace citadel::sched
