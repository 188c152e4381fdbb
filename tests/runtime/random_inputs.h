// Random test inputs shared by the runtime kernel tests (tests/runtime/*).
#pragma once

#include <cstddef>
#include <random>
#include <vector>

namespace citadel::runtime::test {

// n samples of N(0, scale²).
inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace citadel::runtime::test
