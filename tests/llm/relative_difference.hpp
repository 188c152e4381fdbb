// max |a - b| / max |b| over two equally long float sequences (b not all zero): how the llm
// tests compare logits and projection outputs (forward_test.cpp,
// tensor_shards_test.cpp, tensor_parallel_test.cpp). Header-only.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <span>

namespace citadel::test {

inline double max_relative_difference(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double{a[i]} - b[i]));
    norm = std::max(norm, std::abs(double{b[i]}));
  }
  REQUIRE(norm > 0.0);  // all-zero outputs would agree with anything
  return diff / norm;
}

}  // namespace citadel::test
