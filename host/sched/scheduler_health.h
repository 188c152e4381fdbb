// SchedulerHealth: one model scheduler's fault record and heartbeat.
//
// Faults: a step whose batch failed (non-OK status, an exception) or whose
// outputs broke the ABI (wrong request id, token out of range, inconsistent
// appended_tokens, FAILED without a message) is a faulty step; after
// `max_step_failures` faulty steps in a row, or one fatal error (a
// device-fatal status, an exception on the scheduler thread), the model is
// failed: it refuses new requests until a reload replaces it. A clean step
// resets the count. Device-fatal failures are flagged so the host can report
// itself not ready.
//
// Heartbeat: the scheduler thread marks when each loop iteration starts and
// when it goes idle; stalled() says whether it has been busy longer than a
// bound (a plugin step that hangs), which stops the systemd watchdog pings.
// Times are passed in, so tests drive it with a fake clock.
//
// Written by ModelScheduler's thread; read from any thread. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace citadel::sched {

class SchedulerHealth {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SchedulerHealth(uint32_t max_step_failures);

  // A faulty step; returns true when it puts the model into the failed state.
  bool record_faulty_step(const std::string& what);
  // A step without a fault: the count of faulty steps in a row starts again.
  void record_clean_step();
  // A fatal error; returns true when it puts the model into the failed state.
  bool record_fatal(const std::string& what, bool device_fatal);

  bool failed() const { return failed_.load(); }
  bool device_fatal() const { return device_fatal_.load(); }
  std::string failure() const;  // empty unless failed
  uint32_t consecutive_faulty_steps() const { return consecutive_.load(); }

  void mark_busy(Clock::time_point now);  // a loop iteration starts
  void mark_idle();                       // the thread waits for work
  // True when the thread has been busy in one iteration for longer than `bound`.
  bool stalled(Clock::time_point now, std::chrono::nanoseconds bound) const;
  // How long the current iteration has run (zero when idle).
  std::chrono::nanoseconds busy_for(Clock::time_point now) const;

 private:
  bool fail(const std::string& what, bool device_fatal);

  const uint32_t max_step_failures_;
  std::atomic<uint32_t> consecutive_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> device_fatal_{false};
  mutable std::mutex mutex_;
  std::string failure_;
  // Start of the current loop iteration (steady clock ticks); kIdle when idle.
  static constexpr int64_t kIdle = INT64_MIN;
  std::atomic<int64_t> busy_since_{kIdle};
};

}  // namespace citadel::sched
