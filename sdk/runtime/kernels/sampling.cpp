// Sampling with HF's processor order: penalty, temperature, top-k, top-p.
#include "runtime/kernels/sampling.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>
#include <vector>

namespace citadel::runtime {

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) throw_invalid("argmax of empty logits");
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> tokens, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<int32_t> seen;
  for (int32_t id : tokens) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || !seen.insert(id).second) continue;
    float& l = logits[static_cast<size_t>(id)];
    l = l < 0.0f ? l * penalty : l / penalty;
  }
}

bool is_stop_token(int32_t token, std::span<const int32_t> stop_ids) {
  return std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end();
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (params.temperature < 0.0f || !std::isfinite(params.temperature)) {
    throw_invalid("sampling: temperature must be >= 0");
  }
  if (params.top_p <= 0.0f || params.top_p > 1.0f) throw_invalid("sampling: top_p must be in (0, 1]");
  if (params.top_k < 0) throw_invalid("sampling: top_k must be >= 0");
  if (params.repetition_penalty <= 0.0f) throw_invalid("sampling: repetition_penalty must be > 0");
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> previous_tokens) {
  if (logits.empty()) throw_invalid("sampling: empty logits");
  apply_repetition_penalty(logits, previous_tokens, params_.repetition_penalty);
  if (params_.temperature == 0.0f || params_.top_k == 1) return argmax(logits);
  for (float& l : logits) l /= params_.temperature;

  // Candidates sorted by logit, descending (stable: lower id first among equals).
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)]; });
  size_t keep = order.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    // HF keeps every token whose logit ties with the k-th.
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
    // HF: drop the tokens (from the least likely up) whose ascending cumulative
    // probability stays <= 1 - top_p; the most likely token always stays.
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

}  // namespace citadel::runtime
