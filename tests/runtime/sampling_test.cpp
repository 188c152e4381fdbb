// Tests of sampling: greedy, HF repetition penalty, top-k/top-p support,
// temperature's effect on the distribution, seeded reproducibility.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/kernels/sampling.h"

#include <cmath>
#include <map>
#include <set>
#include <vector>

using namespace citadel::runtime;

TEST_CASE("greedy sampling picks the largest logit; temperature 0 and top_k 1 are greedy", "[runtime]") {
  std::vector<float> logits = {0.1f, 3.0f, -2.0f, 3.0f, 1.0f};
  CHECK(argmax(logits) == 1);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  Sampler a(greedy);
  CHECK(a.sample(logits, {}) == 1);
  SamplingParams top1;
  top1.top_k = 1;
  top1.seed = 5;
  Sampler b(top1);
  auto copy = logits;
  CHECK(b.sample(copy, {}) == 1);
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits once per id", "[runtime]") {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.0f};
  const std::vector<int32_t> seen = {0, 1, 1, 3, 99};
  apply_repetition_penalty(logits, seen, 2.0f);
  CHECK(logits == std::vector<float>{1.0f, -4.0f, 1.0f, 0.0f});
  // With the penalty, greedy switches from the repeated token to a fresh one.
  std::vector<float> l2 = {2.0f, 1.5f};
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 1.5f;
  Sampler s(p);
  CHECK(s.sample(l2, std::vector<int32_t>{0}) == 1);
}

TEST_CASE("top-k and top-p restrict sampling to the expected candidates", "[runtime]") {
  // probabilities ~ 0.5, 0.25, 0.125, 0.0625, ...
  std::vector<float> base;
  for (int i = 0; i < 8; ++i) base.push_back(-static_cast<float>(i) * std::log(2.0f));
  SamplingParams k;
  k.top_k = 3;
  k.seed = 1;
  Sampler top_k(k);
  std::set<int32_t> seen_k;
  for (int i = 0; i < 2000; ++i) {
    auto l = base;
    seen_k.insert(top_k.sample(l, {}));
  }
  CHECK(seen_k == std::set<int32_t>{0, 1, 2});

  SamplingParams p;
  p.top_p = 0.8f;  // 0.5 + 0.25 < 0.8 <= 0.5 + 0.25 + 0.125: keeps three
  p.seed = 2;
  Sampler top_p(p);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    auto l = base;
    ++counts[top_p.sample(l, {})];
  }
  CHECK(counts.size() == 3);
  CHECK(counts.rbegin()->first == 2);
  // Renormalised over the three: 4/7, 2/7, 1/7.
  CHECK(std::abs(counts[0] / 4000.0 - 4.0 / 7) < 0.03);
  CHECK(std::abs(counts[2] / 4000.0 - 1.0 / 7) < 0.03);
}

TEST_CASE("temperature sharpens or flattens the sampled distribution", "[runtime]") {
  const std::vector<float> base = {1.0f, 0.0f};
  auto frequency_of_first = [&](float temperature) {
    SamplingParams p;
    p.temperature = temperature;
    p.seed = 3;
    Sampler s(p);
    int first = 0;
    for (int i = 0; i < 5000; ++i) {
      auto l = base;
      first += s.sample(l, {}) == 0;
    }
    return first / 5000.0;
  };
  const double expected_t1 = 1.0 / (1.0 + std::exp(-1.0));
  const double expected_t05 = 1.0 / (1.0 + std::exp(-2.0));
  CHECK(std::abs(frequency_of_first(1.0f) - expected_t1) < 0.03);
  CHECK(std::abs(frequency_of_first(0.5f) - expected_t05) < 0.03);
}

TEST_CASE("the same seed gives the same tokens; another seed differs", "[runtime]") {
  std::vector<float> base(50);
  for (size_t i = 0; i < base.size(); ++i) base[i] = std::sin(static_cast<float>(i));
  auto run = [&](uint64_t seed) {
    SamplingParams p;
    p.seed = seed;
    p.temperature = 1.5f;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 30; ++i) {
      auto l = base;
      out.push_back(s.sample(l, {}));
    }
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
  CHECK(is_stop_token(7, std::vector<int32_t>{3, 7}));
  CHECK_FALSE(is_stop_token(8, std::vector<int32_t>{3, 7}));
  SamplingParams bad;
  bad.top_p = 0.0f;
  CHECK_THROWS_AS(Sampler(bad), RuntimeError);
}
