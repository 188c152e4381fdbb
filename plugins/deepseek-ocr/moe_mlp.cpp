// Dense SwiGLU and MoE feed-forward blocks: routing, per-expert row groups,
// weighted scatter-add, shared experts.
#include "moe_mlp.h"

#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace citadel::deepseek_ocr {

Routing route_from_logits(const DecoderConfig& config, float* logits, int64_t rows) {
  const int64_t experts = config.n_routed_experts;
  const uint32_t k = config.experts_per_token;
  Routing routing;
  routing.experts_per_row = k;
  routing.expert.resize(static_cast<size_t>(rows) * k);
  routing.weight.resize(static_cast<size_t>(rows) * k);
  runtime::softmax(logits, rows, experts);
  std::vector<int32_t> order(experts);
  for (int64_t r = 0; r < rows; ++r) {
    const float* scores = logits + r * experts;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    float sum = 0.0f;
    for (uint32_t j = 0; j < k; ++j) sum += scores[order[j]];
    for (uint32_t j = 0; j < k; ++j) {
      float w = scores[order[j]];
      if (config.norm_topk_prob) w /= sum + 1e-20f;
      routing.expert[r * k + j] = order[j];
      routing.weight[r * k + j] = w * static_cast<float>(config.routed_scaling_factor);
    }
  }
  return routing;
}

Routing route_tokens(runtime::ThreadPool& pool, const DecoderConfig& config, const DecoderLayerWeights& layer,
                     const float* x, int64_t rows) {
  std::vector<float> logits(static_cast<size_t>(rows) * config.n_routed_experts);
  runtime::matmul(pool, x, rows, config.hidden_size, layer.router.data(), runtime::DType::f32, config.n_routed_experts,
                  logits.data());
  return route_from_logits(config, logits.data(), rows);
}

void FeedForward::mlp_rows(runtime::ThreadPool& pool, const GatedMlp& mlp, const float* x,
                           const std::vector<int64_t>& rows, const std::vector<float>* weights, float* out) {
  const int64_t hidden = config_.hidden_size;
  const int64_t width = mlp.width();
  const int64_t count = static_cast<int64_t>(rows.size());
  gathered_.resize(count * hidden);
  for (int64_t i = 0; i < count; ++i) std::memcpy(&gathered_[i * hidden], x + rows[i] * hidden, hidden * sizeof(float));
  gate_.resize(count * width);
  up_.resize(count * width);
  down_.resize(count * hidden);
  mlp.gate.forward(pool, gathered_.data(), count, gate_.data());
  mlp.up.forward(pool, gathered_.data(), count, up_.data());
  runtime::silu_mul(gate_.data(), up_.data(), count * width, gate_.data());
  mlp.down.forward(pool, gate_.data(), count, down_.data());
  for (int64_t i = 0; i < count; ++i) {
    const float w = weights ? (*weights)[i] : 1.0f;
    float* target = out + rows[i] * hidden;
    const float* source = &down_[i * hidden];
    for (int64_t c = 0; c < hidden; ++c) target[c] += w * source[c];
  }
}

void FeedForward::run(runtime::ThreadPool& pool, const DecoderLayerWeights& layer, const float* x, int64_t rows,
                      float* out) {
  const int64_t hidden = config_.hidden_size;
  std::fill(out, out + rows * hidden, 0.0f);
  all_rows_.resize(rows);
  std::iota(all_rows_.begin(), all_rows_.end(), 0);
  if (!layer.moe) {
    mlp_rows(pool, layer.dense, x, all_rows_, nullptr, out);
    return;
  }
  const Routing routing = route_tokens(pool, config_, layer, x, rows);
  const uint32_t k = routing.experts_per_row;
  std::vector<std::vector<int64_t>> expert_rows(layer.experts.size());
  std::vector<std::vector<float>> expert_weights(layer.experts.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (uint32_t j = 0; j < k; ++j) {
      const int32_t e = routing.expert[r * k + j];
      expert_rows[e].push_back(r);
      expert_weights[e].push_back(routing.weight[r * k + j]);
    }
  }
  for (size_t e = 0; e < layer.experts.size(); ++e) {
    if (!expert_rows[e].empty()) mlp_rows(pool, layer.experts[e], x, expert_rows[e], &expert_weights[e], out);
  }
  if (layer.has_shared) mlp_rows(pool, layer.shared, x, all_rows_, nullptr, out);
}

}  // namespace citadel::deepseek_ocr
