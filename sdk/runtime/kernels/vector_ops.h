// Inline f32 vector helpers for the CPU kernels: dot product and axpy,
// written with a fixed number of independent lanes so that GCC vectorizes
// them at -O2 without -ffast-math. Internal to sdk/runtime/kernels.
#pragma once

#include <cstdint>

namespace citadel::runtime::detail {

inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += a[i + j] * b[i + j];
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < kLanes; ++j) sum += lanes[j];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y[i] += alpha * x[i].
inline void axpy(float alpha, const float* __restrict x, float* __restrict y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int64_t j = 0; j < 8; ++j) y[i + j] += alpha * x[i + j];
  }
  for (; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace citadel::runtime::detail
