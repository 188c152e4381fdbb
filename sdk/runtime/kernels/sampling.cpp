// Sampling with HF's processor order: penalty, temperature, top-k, top-p.
#include "runtime/kernels/sampling.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <numeric>
#include <unordered_set>
#include <vector>

namespace citadel::runtime {

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) throw_invalid("argmax of empty logits");
  // The largest value with eight independent maxima (the compiler keeps them
  // in vector registers), then the first index holding it: the lowest index
  // among equals, as std::max_element gives. NaN never compares greater.
  constexpr size_t kLanes = 8;
  float lane_max[kLanes];
  std::fill(std::begin(lane_max), std::end(lane_max), -std::numeric_limits<float>::infinity());
  const size_t whole = logits.size() / kLanes * kLanes;
  for (size_t i = 0; i < whole; i += kLanes) {
    for (size_t lane = 0; lane < kLanes; ++lane) {
      lane_max[lane] = logits[i + lane] > lane_max[lane] ? logits[i + lane] : lane_max[lane];
    }
  }
  float best = -std::numeric_limits<float>::infinity();
  for (float value : lane_max) best = value > best ? value : best;
  for (size_t i = whole; i < logits.size(); ++i) best = logits[i] > best ? logits[i] : best;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] == best) return static_cast<int32_t>(i);
  }
  return 0;  // every logit is NaN or -infinity
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

namespace {

// Candidates in sampling order: logit descending, the lower id first among
// equals (the order of a stable sort of every id by logit). A NaN logit sorts
// as -infinity, so the order stays a strict weak order whatever a model gives.
float sort_key(float logit) { return std::isnan(logit) ? -std::numeric_limits<float>::infinity() : logit; }

bool before(std::span<const float> logits, int32_t a, int32_t b) {
  const float la = sort_key(logits[static_cast<size_t>(a)]), lb = sort_key(logits[static_cast<size_t>(b)]);
  return la > lb || (la == lb && a < b);
}

// The logits (after temperature) binned by their distance below the largest:
// kBins bins over kSpan, then one bin for everything further down (and -inf,
// NaN). Bins are ordered as sampling order is, so only the ids of the bins
// that top-k, top-p or the drawn number reach need sorting. Each bin holds
// its ids' count and unnormalised probability mass exp(logit - max).
struct LogitBins {
  static constexpr int kBins = 512;
  static constexpr float kSpan = 48.0f;
  std::vector<double> mass = std::vector<double>(kBins + 1, 0.0);
  std::vector<size_t> count = std::vector<size_t>(kBins + 1, 0);
  double total = 0.0;

  static int bin_of(float logit, float max) {
    const float distance = (max - logit) * (static_cast<float>(kBins) / kSpan);
    return distance < static_cast<float>(kBins) ? static_cast<int>(distance) : kBins;  // NaN: the last bin
  }
  static float weight(float logit, float max) {
    return logit > -std::numeric_limits<float>::infinity() ? std::exp(logit - max) : 0.0f;  // NaN, -inf: 0
  }

  LogitBins(std::span<const float> logits, float max) {
    for (float l : logits) {
      const auto bin = static_cast<size_t>(bin_of(l, max));
      mass[bin] += weight(l, max);
      ++count[bin];
    }
    for (double m : mass) total += m;
  }

  // The ids of bins [first, last], in sampling order.
  std::vector<int32_t> sorted_ids(std::span<const float> logits, float max, int first, int last) const {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < logits.size(); ++i) {
      const int bin = bin_of(logits[i], max);
      if (bin >= first && bin <= last) ids.push_back(static_cast<int32_t>(i));
    }
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return before(logits, a, b); });
    return ids;
  }
};

}  // namespace

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> previous_tokens) {
  if (logits.empty()) throw_invalid("sampling: empty logits");
  apply_repetition_penalty(logits, previous_tokens, params_.repetition_penalty);
  if (params_.temperature == 0.0f || params_.top_k == 1) return argmax(logits);
  for (float& l : logits) l /= params_.temperature;
  const float max = logits[static_cast<size_t>(argmax(logits))];
  const LogitBins bins(logits, max);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double r = uniform(rng_);
  const bool top_k = params_.top_k > 0 && static_cast<size_t>(params_.top_k) < logits.size();

  if (!top_k && params_.top_p >= 1.0f) {
    // Every id is a candidate: find the bin where the cumulative probability
    // (in sampling order) passes r, and walk only that bin's ids in order.
    const double target = r * bins.total;
    double cumulative = 0.0;
    for (int bin = 0; bin <= LogitBins::kBins; ++bin) {
      const double next = cumulative + bins.mass[static_cast<size_t>(bin)];
      if (target < next || bin == LogitBins::kBins) {
        const std::vector<int32_t> ids = bins.sorted_ids(logits, max, bin, bin);
        for (int32_t id : ids) {
          cumulative += LogitBins::weight(logits[static_cast<size_t>(id)], max);
          if (target < cumulative) return id;
        }
        if (!ids.empty() && bins.mass[static_cast<size_t>(bin)] > 0.0) return ids.back();
      }
      cumulative = next;
    }
    return argmax(logits);
  }

  // Top-k or top-p: only the first bins can hold kept ids. Top-k needs the
  // bins that hold its k most likely ids (ties share a bin); top-p alone, the
  // bins whose mass reaches top_p of the total, since the ids below them
  // (`below`, at most 1 - top_p) are all among those top-p drops.
  int last = 0;
  size_t ids_so_far = 0;
  double mass_so_far = 0.0;
  for (; last < LogitBins::kBins; ++last) {
    ids_so_far += bins.count[static_cast<size_t>(last)];
    mass_so_far += bins.mass[static_cast<size_t>(last)];
    if (top_k ? ids_so_far >= static_cast<size_t>(params_.top_k) : mass_so_far >= params_.top_p * bins.total) break;
  }
  const std::vector<int32_t> order = bins.sorted_ids(logits, max, 0, last);
  double below = 0.0;
  for (int bin = last + 1; bin <= LogitBins::kBins; ++bin) below += bins.mass[static_cast<size_t>(bin)];
  size_t keep = order.size();
  if (top_k) {
    // HF keeps every token whose logit ties with the k-th; the others are dropped.
    const float kth = logits[static_cast<size_t>(order[static_cast<size_t>(params_.top_k) - 1])];
    keep = static_cast<size_t>(params_.top_k);
    while (keep < order.size() && logits[static_cast<size_t>(order[keep])] >= kth) ++keep;
    below = 0.0;
  }
  std::vector<double> probs(keep);
  double sum = below;
  for (size_t i = 0; i < keep; ++i) {
    const float logit = logits[static_cast<size_t>(order[i])];
    probs[i] = std::isnan(logit) ? 0.0 : std::exp(static_cast<double>(logit - max));  // NaN, -inf: 0
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  if (params_.top_p < 1.0f) {
    // HF: drop the tokens (from the least likely up) whose ascending cumulative
    // probability stays <= 1 - top_p; the most likely token always stays.
    double cumulative = below / sum;
    size_t cut = keep;
    for (size_t i = keep; i-- > 1;) {
      cumulative += probs[i];
      if (cumulative > 1.0 - params_.top_p) break;
      cut = i;
    }
    keep = cut;
    probs.resize(keep);
    const double kept = std::accumulate(probs.begin(), probs.end(), 0.0);
    for (double& p : probs) p /= kept;
  }
  double cumulative = 0.0;
  size_t last_possible = 0;  // rounding left r past the end: the last id that could be drawn
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (r < cumulative) return order[i];
    if (probs[i] > 0.0) last_possible = i;
  }
  return order[last_possible];
}

}  // namespace citadel::runtime
