// UMT5 encoder forward pass (see umt5_encoder.h).
#include "umt5_encoder.h"

#include "runtime/core/error.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace citadel::vista {
namespace {

void project(runtime::ThreadPool& pool, const float* x, int64_t n, const Linear& linear, float* y) {
  runtime::matmul(pool, x, n, linear.in(), linear.weight.data(), linear.weight.dtype(), linear.out(), y,
                  linear.bias.empty() ? nullptr : linear.bias.data());
}

}  // namespace

int64_t t5_relative_bucket(int64_t relative_position, int64_t num_buckets, int64_t max_distance) {
  const int64_t half = num_buckets / 2;
  int64_t bucket = relative_position > 0 ? half : 0;
  const int64_t distance = relative_position < 0 ? -relative_position : relative_position;
  const int64_t max_exact = half / 2;
  if (distance < max_exact) return bucket + distance;
  // transformers: log(d / max_exact) / log(max_distance / max_exact) * (half - max_exact), in f32, truncated.
  float scaled = std::log(static_cast<float>(distance) / static_cast<float>(max_exact));
  scaled = scaled / static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  scaled = scaled * static_cast<float>(half - max_exact);
  const int64_t large = std::min<int64_t>(max_exact + static_cast<int64_t>(scaled), half - 1);
  return bucket + large;
}

Umt5Encoder::Umt5Encoder(const Umt5Config& config, const WeightStore& weights) : config_(config) {
  const int64_t d = config.d_model, inner = config.num_heads * config.d_kv, ff = config.d_ff;
  embedding_ = weights.has("encoder.embed_tokens.weight")
                   ? weights.tensor("encoder.embed_tokens.weight", {config.vocab_size, d})
                   : weights.tensor("shared.weight", {config.vocab_size, d});
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "encoder.block." + std::to_string(i) + ".layer.";
    Layer layer;
    layer.attention_norm = weights.floats(prefix + "0.layer_norm.weight", {d});
    layer.q = weights.linear(prefix + "0.SelfAttention.q", d, inner, false);
    layer.k = weights.linear(prefix + "0.SelfAttention.k", d, inner, false);
    layer.v = weights.linear(prefix + "0.SelfAttention.v", d, inner, false);
    layer.o = weights.linear(prefix + "0.SelfAttention.o", inner, d, false);
    layer.relative_bias = weights.floats(prefix + "0.SelfAttention.relative_attention_bias.weight",
                                         {config.relative_attention_num_buckets, config.num_heads});
    layer.ffn_norm = weights.floats(prefix + "1.layer_norm.weight", {d});
    layer.wi_0 = weights.linear(prefix + "1.DenseReluDense.wi_0", d, ff, false);
    layer.wi_1 = weights.linear(prefix + "1.DenseReluDense.wi_1", d, ff, false);
    layer.wo = weights.linear(prefix + "1.DenseReluDense.wo", ff, d, false);
    layers_.push_back(std::move(layer));
  }
  final_norm_ = weights.floats("encoder.final_layer_norm.weight", {d});
}

void Umt5Encoder::attention(runtime::ThreadPool& pool, const Layer& layer, const float* normed, int64_t n,
                            float* out) const {
  const int64_t heads = config_.num_heads, head_dim = config_.d_kv, inner = heads * head_dim;
  std::vector<float> q(static_cast<size_t>(n * inner)), k(q.size()), v(q.size()), mixed(q.size());
  project(pool, normed, n, layer.q, q.data());
  project(pool, normed, n, layer.k, k.data());
  project(pool, normed, n, layer.v, v.data());
  // bias[h][relative + n - 1]: one bucket lookup per distance.
  std::vector<float> bias(static_cast<size_t>(heads * (2 * n - 1)));
  for (int64_t r = -(n - 1); r <= n - 1; ++r) {
    const int64_t bucket = t5_relative_bucket(r, config_.relative_attention_num_buckets,
                                              config_.relative_attention_max_distance);
    for (int64_t h = 0; h < heads; ++h) bias[static_cast<size_t>(h * (2 * n - 1) + r + n - 1)] = layer.relative_bias[static_cast<size_t>(bucket * heads + h)];
  }
  pool.parallel_for(0, n * heads, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(n));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / heads, h = task % heads;
      const float* query = q.data() + i * inner + h * head_dim;
      for (int64_t j = 0; j < n; ++j) {
        const float* key = k.data() + j * inner + h * head_dim;
        float dot = 0.0f;
        for (int64_t c = 0; c < head_dim; ++c) dot += query[c] * key[c];
        scores[static_cast<size_t>(j)] = dot + bias[static_cast<size_t>(h * (2 * n - 1) + (j - i) + n - 1)];
      }
      runtime::softmax(scores.data(), 1, n);
      float* result = mixed.data() + i * inner + h * head_dim;
      std::fill(result, result + head_dim, 0.0f);
      for (int64_t j = 0; j < n; ++j) {
        const float weight = scores[static_cast<size_t>(j)];
        const float* value = v.data() + j * inner + h * head_dim;
        for (int64_t c = 0; c < head_dim; ++c) result[c] += weight * value[c];
      }
    }
  });
  project(pool, mixed.data(), n, layer.o, out);
}

std::vector<float> Umt5Encoder::encode(runtime::ThreadPool& pool, std::span<const int32_t> ids, int64_t valid) const {
  const int64_t d = config_.d_model, padded = static_cast<int64_t>(ids.size());
  if (valid < 1 || valid > padded) {
    runtime::throw_invalid("umt5: " + std::to_string(valid) + " prompt tokens of " + std::to_string(padded));
  }
  std::vector<float> output(static_cast<size_t>(padded * d), 0.0f);
  std::vector<float> x(static_cast<size_t>(valid * d)), normed(x.size()), delta(x.size());
  runtime::embedding_lookup(embedding_.data(), embedding_.dtype(), config_.vocab_size, d, ids.data(), valid, x.data());
  const float eps = static_cast<float>(config_.eps);
  std::vector<float> gate(static_cast<size_t>(valid * config_.d_ff)), up(gate.size());
  for (const Layer& layer : layers_) {
    runtime::rms_norm(x.data(), valid, d, layer.attention_norm.data(), eps, normed.data());
    attention(pool, layer, normed.data(), valid, delta.data());
    runtime::add_in_place(x.data(), delta.data(), valid * d);
    runtime::rms_norm(x.data(), valid, d, layer.ffn_norm.data(), eps, normed.data());
    project(pool, normed.data(), valid, layer.wi_0, gate.data());
    project(pool, normed.data(), valid, layer.wi_1, up.data());
    runtime::gelu_tanh(gate.data(), static_cast<int64_t>(gate.size()), gate.data());
    for (size_t i = 0; i < gate.size(); ++i) gate[i] *= up[i];
    project(pool, gate.data(), valid, layer.wo, delta.data());
    runtime::add_in_place(x.data(), delta.data(), valid * d);
  }
  runtime::rms_norm(x.data(), valid, d, final_norm_.data(), eps, output.data());
  return output;
}

namespace {

class CpuTextEncoder final : public TextEncoder {
 public:
  CpuTextEncoder(std::unique_ptr<Umt5Encoder> encoder, runtime::ThreadPool& pool)
      : encoder_(std::move(encoder)), pool_(pool) {}
  const Umt5Config& config() const override { return encoder_->config(); }
  std::vector<float> encode(std::span<const int32_t> ids, int64_t valid) override {
    return encoder_->encode(pool_, ids, valid);
  }

 private:
  std::unique_ptr<Umt5Encoder> encoder_;
  runtime::ThreadPool& pool_;
};

}  // namespace

std::unique_ptr<TextEncoder> make_cpu_text_encoder(std::unique_ptr<Umt5Encoder> encoder, runtime::ThreadPool& pool) {
  return std::make_unique<CpuTextEncoder>(std::move(encoder), pool);
}

}  // namespace citadel::vista
