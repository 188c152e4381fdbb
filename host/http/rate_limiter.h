// RateLimiter: one token bucket per API key (requests per minute): a key may
// burst up to its whole minute's allowance, then refills at rpm/60 requests
// per second. Buckets are found by the key's id string and survive reloads
// (a key whose rpm changed keeps its tokens, capped at the new size).
//
// Called by ApiKeyGate for every authenticated request. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace citadel::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes one request from `bucket`'s allowance of `requests_per_minute`
  // (0: unlimited). Returns 0 when allowed, else the whole seconds until one
  // request is available again (>= 1, for Retry-After).
  uint32_t take(const std::string& bucket, uint32_t requests_per_minute,
                Clock::time_point now = Clock::now());

  // Drops the buckets of keys that no longer exist.
  template <typename KeepPredicate>
  void retain(KeepPredicate keep) {
    std::lock_guard lock(mutex_);
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = keep(it->first) ? std::next(it) : buckets_.erase(it);
  }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace citadel::http
