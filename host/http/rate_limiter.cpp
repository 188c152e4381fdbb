// Token buckets per API key.
#include "host/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace citadel::http {

uint32_t RateLimiter::take(const std::string& bucket_name, uint32_t requests_per_minute,
                           Clock::time_point now) {
  if (requests_per_minute == 0) return 0;
  const double capacity = requests_per_minute;
  const double per_second = requests_per_minute / 60.0;
  std::lock_guard lock(mutex_);
  auto [it, created] = buckets_.try_emplace(bucket_name, Bucket{capacity, now});
  Bucket& bucket = it->second;
  if (!created) {
    const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    if (elapsed > 0) bucket.tokens = std::min(capacity, bucket.tokens + elapsed * per_second);
    bucket.tokens = std::min(bucket.tokens, capacity);
    bucket.refilled = std::max(bucket.refilled, now);
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - bucket.tokens) / per_second;
  return static_cast<uint32_t>(std::max(1.0, std::ceil(wait)));
}

}  // namespace citadel::http
