// DeviceArbiter: cross-model fairness on one device. Models whose schedulers
// share a device take turns: one step at a time holds the device, and the
// next turn goes to the model that has received the least weighted device
// time — weighted fair sharing of device time by `scheduler.weight`.
//
// The rule (start-time fair queuing over step durations):
//  - each participant has a virtual time; a step that took d seconds adds
//    d / weight to it (so a model of weight 3 is charged a third);
//  - when the device is free, the runnable participant with the least
//    virtual time gets the next turn (ties: the earlier joiner). A model is
//    runnable from its acquire() until it calls idle(); between two of its
//    steps (output handling, planning) it stays runnable, and others wait
//    for it for at most `return_grace` (default 10 ms) — without this, the
//    model that just stepped would always lose the next turn to the one
//    already waiting, and weights would degrade to plain alternation;
//  - the arbiter's virtual clock is the virtual time of the latest turn
//    granted; a newcomer starts at the clock, and a participant that comes
//    back after idling is lifted to at least clock - max_idle_credit, so an
//    idle model banks at most max_idle_credit (default 100 ms) of advantage
//    instead of monopolising the device after a long pause.
// With every model backlogged, each model's share of device time converges
// to weight / sum of weights.
//
// Used by ModelScheduler (acquire/release around every step); created per
// device by DeviceArbiters (host/core holds one set). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::sched {

class DeviceArbiter {
 public:
  using ParticipantId = uint64_t;

  explicit DeviceArbiter(std::string device,
                         std::chrono::nanoseconds max_idle_credit = std::chrono::milliseconds(100),
                         std::chrono::nanoseconds return_grace = std::chrono::milliseconds(10));

  const std::string& device() const { return device_; }

  // Registers a model with its weight (values <= 0 count as 0.001).
  ParticipantId join(const std::string& model, double weight);
  void leave(ParticipantId id);

  // Blocks until `id` may run one step on the device; marks it runnable.
  void acquire(ParticipantId id);
  // Ends the turn and charges `used` device time. The participant stays
  // runnable: call idle() when it has no more work.
  void release(ParticipantId id, std::chrono::nanoseconds used);
  // The participant has no work for now; others stop waiting for it.
  void idle(ParticipantId id);

  struct Share {
    std::string model;
    double weight = 1.0;
    double device_seconds = 0;   // total device time used
    double virtual_seconds = 0;  // weighted virtual time
    uint64_t turns = 0;
  };
  std::vector<Share> shares() const;

 private:
  struct Participant {
    std::string model;
    double weight = 1.0;
    double virtual_time = 0;  // seconds / weight
    double device_seconds = 0;
    uint64_t turns = 0;
    bool waiting = false;   // blocked in acquire()
    bool runnable = false;  // has work (acquire() called, idle() not since)
    std::chrono::steady_clock::time_point released_at;
  };
  // Whether `id` is the runnable participant with the least virtual time;
  // `retry_at` is set when a returning participant's grace ends earlier.
  bool is_next(ParticipantId id, std::chrono::steady_clock::time_point now,
               std::chrono::steady_clock::time_point& retry_at) const;

  std::string device_;
  double max_idle_credit_s_;
  std::chrono::nanoseconds return_grace_;
  mutable std::mutex mutex_;
  std::condition_variable turn_free_;
  std::map<ParticipantId, Participant> participants_;  // ordered by join
  ParticipantId next_id_ = 1;
  double virtual_clock_ = 0;
  bool busy_ = false;
};

// RAII turn: acquire on construction, release with the measured duration.
class DeviceTurn {
 public:
  DeviceTurn(DeviceArbiter* arbiter, DeviceArbiter::ParticipantId id);
  ~DeviceTurn();
  DeviceTurn(const DeviceTurn&) = delete;
  DeviceTurn& operator=(const DeviceTurn&) = delete;

 private:
  DeviceArbiter* arbiter_;
  DeviceArbiter::ParticipantId id_;
  std::chrono::steady_clock::time_point start_;
};

// One arbiter per device name, created on first use.
class DeviceArbiters {
 public:
  std::shared_ptr<DeviceArbiter> for_device(const std::string& device);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<DeviceArbiter>> arbiters_;
};

}  // namespace citadel::sched
