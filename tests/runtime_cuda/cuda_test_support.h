// Shared helpers of the [cuda] tests (tests/runtime_cuda/*): random inputs,
// the error measure used to compare a CUDA kernel with its CPU reference, and
// a skip guard for machines without a GPU. Only compiled with CUDA.
#pragma once

#include "runtime/cuda/device_buffer.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace citadel::runtime::cuda::test {

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// max |got - expected| / max(max |expected|, tiny): the error relative to the
// output's scale (elementwise relative error is meaningless near zero);
// infinite when a value of `got` is not finite or the sizes differ.
inline double scaled_max_error(const std::vector<float>& got, const std::vector<float>& expected) {
  double max_error = 0.0, max_value = 1e-30;
  for (size_t i = 0; i < expected.size() && i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;  // NaN/inf: never a pass
    max_error = std::max(max_error, std::abs(static_cast<double>(got[i]) - expected[i]));
    max_value = std::max(max_value, std::abs(static_cast<double>(expected[i])));
  }
  return got.size() == expected.size() ? max_error / max_value : INFINITY;
}

template <typename T>
DeviceBuffer to_device(const std::vector<T>& host) { return DeviceBuffer::from_vector(host, "test input"); }

}  // namespace citadel::runtime::cuda::test
