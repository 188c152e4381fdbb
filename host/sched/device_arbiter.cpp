#include "host/sched/device_arbiter.h"

#include <algorithm>

namespace citadel::sched {

DeviceArbiter::DeviceArbiter(std::string device, std::chrono::nanoseconds max_idle_credit,
                             std::chrono::nanoseconds return_grace)
    : device_(std::move(device)),
      max_idle_credit_s_(std::chrono::duration<double>(max_idle_credit).count()),
      return_grace_(return_grace) {}

DeviceArbiter::ParticipantId DeviceArbiter::join(const std::string& model, double weight) {
  std::lock_guard lock(mutex_);
  ParticipantId id = next_id_++;
  Participant participant;
  participant.model = model;
  participant.weight = std::max(weight, 0.001);
  participant.virtual_time = virtual_clock_;
  participants_.emplace(id, std::move(participant));
  return id;
}

void DeviceArbiter::leave(ParticipantId id) {
  std::lock_guard lock(mutex_);
  participants_.erase(id);
  turn_free_.notify_all();
}

bool DeviceArbiter::is_next(ParticipantId id, std::chrono::steady_clock::time_point now,
                            std::chrono::steady_clock::time_point& retry_at) const {
  const Participant& candidate = participants_.at(id);
  for (const auto& [other_id, other] : participants_) {
    if (other_id == id || !other.runnable) continue;
    const bool ahead = other.virtual_time < candidate.virtual_time ||
                       (other.virtual_time == candidate.virtual_time && other_id < id);
    if (!ahead) continue;
    if (other.waiting) return false;
    // Between two of its steps: wait for it until its grace ends.
    const auto grace_end = other.released_at + return_grace_;
    if (now < grace_end) {
      retry_at = std::min(retry_at, grace_end);
      return false;
    }
  }
  return true;
}

void DeviceArbiter::acquire(ParticipantId id) {
  std::unique_lock lock(mutex_);
  Participant& participant = participants_.at(id);
  participant.virtual_time = std::max(participant.virtual_time, virtual_clock_ - max_idle_credit_s_);
  participant.waiting = true;
  participant.runnable = true;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    auto retry_at = std::chrono::steady_clock::time_point::max();
    if (!busy_ && is_next(id, now, retry_at)) break;
    if (retry_at == std::chrono::steady_clock::time_point::max()) {
      turn_free_.wait(lock);
    } else {
      turn_free_.wait_until(lock, retry_at);
    }
  }
  participant.waiting = false;
  busy_ = true;
  virtual_clock_ = std::max(virtual_clock_, participant.virtual_time);
}

void DeviceArbiter::idle(ParticipantId id) {
  std::lock_guard lock(mutex_);
  auto found = participants_.find(id);
  if (found != participants_.end()) found->second.runnable = false;
  turn_free_.notify_all();
}

void DeviceArbiter::release(ParticipantId id, std::chrono::nanoseconds used) {
  std::lock_guard lock(mutex_);
  busy_ = false;
  auto found = participants_.find(id);
  if (found != participants_.end()) {
    const double seconds = std::chrono::duration<double>(used).count();
    found->second.device_seconds += seconds;
    found->second.virtual_time += seconds / found->second.weight;
    ++found->second.turns;
    found->second.released_at = std::chrono::steady_clock::now();
  }
  turn_free_.notify_all();
}

std::vector<DeviceArbiter::Share> DeviceArbiter::shares() const {
  std::lock_guard lock(mutex_);
  std::vector<Share> result;
  for (const auto& [id, participant] : participants_) {
    result.push_back({participant.model, participant.weight, participant.device_seconds,
                      participant.virtual_time, participant.turns});
  }
  return result;
}

DeviceTurn::DeviceTurn(DeviceArbiter* arbiter, DeviceArbiter::ParticipantId id)
    : arbiter_(arbiter), id_(id) {
  if (arbiter_ != nullptr) arbiter_->acquire(id_);
  start_ = std::chrono::steady_clock::now();
}

DeviceTurn::~DeviceTurn() {
  if (arbiter_ != nullptr) {
    arbiter_->release(id_, std::chrono::steady_clock::now() - start_);
  }
}

std::shared_ptr<DeviceArbiter> DeviceArbiters::for_device(const std::string& device) {
  std::lock_guard lock(mutex_);
  auto& arbiter = arbiters_[device];
  if (!arbiter) arbiter = std::make_shared<DeviceArbiter>(device);
  return arbiter;
}

}  // namespace citadel::sched
