// Sampler against a plain reference of the same semantics (HF's processor
// order; every id sorted by logit, ties by id, then top-k with its ties,
// top-p from the least likely up, one uniform draw walked in that order), on
// random logit rows: the Sampler sorts only the ids that can matter (logits
// binned below the largest), so both must pick the same ids from the same
// seed. Also: masked (-inf) ids are never drawn and greedy picks the first
// of equal maxima.
#include <catch2/catch.hpp>

#include "runtime/kernels/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;

namespace {

// The reference: full stable sort of every id (what Sampler did before it binned).
class ReferenceSampler {
 public:
  explicit ReferenceSampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

  int32_t sample(std::vector<float> logits, const std::vector<int32_t>& previous) {
    apply_repetition_penalty(logits, previous, params_.repetition_penalty);
    if (params_.temperature == 0.0f || params_.top_k == 1) return argmax(logits);
    for (float& l : logits) l /= params_.temperature;
    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
    });
    size_t keep = order.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
      const float kth = logits[static_cast<size_t>(order[static_cast<size_t>(params_.top_k) - 1])];
      keep = static_cast<size_t>(params_.top_k);
      while (keep < order.size() && logits[static_cast<size_t>(order[keep])] >= kth) ++keep;
    }
    const float max = logits[static_cast<size_t>(order[0])];
    std::vector<double> probs(keep);
    double sum = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      probs[i] = std::exp(static_cast<double>(logits[static_cast<size_t>(order[i])] - max));
      sum += probs[i];
    }
    for (double& p : probs) p /= sum;
    if (params_.top_p < 1.0f) {
      double cumulative = 0.0;
      size_t cut = keep;
      for (size_t i = keep; i-- > 1;) {
        cumulative += probs[i];
        if (cumulative > 1.0 - params_.top_p) break;
        cut = i;
      }
      keep = cut;
      probs.resize(keep);
      sum = std::accumulate(probs.begin(), probs.end(), 0.0);
      for (double& p : probs) p /= sum;
    }
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    const double r = uniform(rng_);
    double cumulative = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i];
      if (r < cumulative) return order[i];
    }
    return order[keep - 1];
  }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

SamplingParams make(float temperature, int32_t top_k, float top_p, float penalty, uint64_t seed) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  p.repetition_penalty = penalty;
  p.seed = seed;
  return p;
}

}  // namespace

TEST_CASE("Sampler draws the same ids as the full-sort reference for every setting", "[runtime]") {
  std::mt19937 random(5);
  const std::vector<SamplingParams> settings = {
      make(1.0f, 0, 1.0f, 1.0f, 1),   make(0.7f, 0, 0.9f, 1.0f, 2),  make(0.8f, 50, 1.0f, 1.0f, 3),
      make(0.6f, 20, 0.95f, 1.1f, 4), make(1.3f, 0, 0.5f, 1.0f, 5),  make(2.0f, 3, 1.0f, 1.0f, 6),
      make(0.3f, 0, 0.99f, 1.2f, 7),  make(1.0f, 1000, 0.8f, 1.0f, 8), make(5.0f, 0, 1.0f, 1.0f, 9),
      make(0.0f, 0, 1.0f, 1.0f, 10),
  };
  for (const float sigma : {0.5f, 3.0f, 12.0f}) {  // flat, language-model-like, very peaked rows
    for (const SamplingParams& params : settings) {
      Sampler sampler(params);
      ReferenceSampler reference(params);
      std::normal_distribution<float> logit(0.0f, sigma);
      int differences = 0;
      for (int row = 0; row < 60; ++row) {
        std::vector<float> logits(3000);
        for (float& l : logits) l = logit(random);
        logits[static_cast<size_t>(row * 7)] = logits[static_cast<size_t>(row * 7 + 1)];  // ties
        std::vector<int32_t> previous(40);
        for (int32_t& id : previous) id = static_cast<int32_t>(random() % 3000);
        std::vector<float> copy = logits;
        if (sampler.sample(copy, previous) != reference.sample(logits, previous)) ++differences;
      }
      INFO("sigma " << sigma << ", temperature " << params.temperature << ", top_k " << params.top_k
                    << ", top_p " << params.top_p);
      CHECK(differences == 0);
    }
  }
}

TEST_CASE("Sampler never draws a masked id and greedy takes the first of equal maxima", "[runtime]") {
  const float masked = -std::numeric_limits<float>::infinity();
  std::vector<float> base(5000, masked);
  for (size_t i = 100; i < 5000; i += 500) base[i] = static_cast<float>(i % 7);
  for (const SamplingParams& params : {make(1.0f, 0, 1.0f, 1.0f, 1), make(0.9f, 0, 0.9f, 1.0f, 2),
                                       make(1.0f, 40, 1.0f, 1.0f, 3), make(1.0f, 4, 0.7f, 1.0f, 4)}) {
    Sampler sampler(params);
    for (int i = 0; i < 300; ++i) {
      std::vector<float> logits = base;
      const int32_t id = sampler.sample(logits, {});
      REQUIRE(id >= 100);
      CHECK(base[static_cast<size_t>(id)] > masked);
    }
  }
  // NaN logits (a broken model) are never drawn and never upset the sort,
  // also when top-k reaches past every finite id.
  std::vector<float> broken(3000, std::numeric_limits<float>::quiet_NaN());
  for (size_t i = 0; i < broken.size(); i += 300) broken[i] = static_cast<float>(i % 5);
  for (const SamplingParams& params : {make(1.0f, 0, 1.0f, 1.0f, 5), make(1.0f, 2000, 1.0f, 1.0f, 6),
                                       make(0.8f, 0, 0.95f, 1.0f, 7)}) {
    Sampler sampler(params);
    for (int i = 0; i < 200; ++i) {
      std::vector<float> logits = broken;
      const int32_t id = sampler.sample(logits, {});
      REQUIRE(id >= 0);
      CHECK(id % 300 == 0);
    }
  }
  std::vector<float> ties(70000, 1.0f);
  ties[40000] = ties[50000] = 9.0f;
  CHECK(argmax(ties) == 40000);
  ties[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(argmax(ties) == 40000);
}
