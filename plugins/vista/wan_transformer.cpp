// The Wan transformer's chunk forward pass (see wan_transformer.h).
#include "wan_transformer.h"

#include "wan_embeddings.h"

#include "runtime/core/error.h"
#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"

#include <cmath>
#include <string>

namespace citadel::vista {
namespace {

void project(runtime::ThreadPool& pool, const float* x, int64_t n, const Linear& linear, float* y) {
  runtime::matmul(pool, x, n, linear.in(), linear.weight.data(), linear.weight.dtype(), linear.out(), y,
                  linear.bias.empty() ? nullptr : linear.bias.data());
}

void silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

// y = LayerNorm(x) * (1 + scale) + shift, with scale/shift of each token's frame.
void modulated_norm(const float* x, int64_t frames, int64_t tokens_per_frame, int64_t dim, const float* shift,
                    const float* scale, int64_t stride, float eps, float* y) {
  runtime::layer_norm(x, frames * tokens_per_frame, dim, nullptr, nullptr, eps, y);
  for (int64_t f = 0; f < frames; ++f) {
    const float* sh = shift + f * stride;
    const float* sc = scale + f * stride;
    for (int64_t t = 0; t < tokens_per_frame; ++t) {
      float* row = y + (f * tokens_per_frame + t) * dim;
      for (int64_t i = 0; i < dim; ++i) row[i] = row[i] * (1.0f + sc[i]) + sh[i];
    }
  }
}

// x += gate (of each token's frame) * delta.
void gated_add(float* x, const float* delta, int64_t frames, int64_t tokens_per_frame, int64_t dim, const float* gate,
               int64_t stride) {
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t t = 0; t < tokens_per_frame; ++t) {
      const int64_t row = (f * tokens_per_frame + t) * dim;
      for (int64_t i = 0; i < dim; ++i) x[row + i] += delta[row + i] * gate[f * stride + i];
    }
}

}  // namespace

WanTransformer::WanTransformer(const WanConfig& config, WanWeights weights)
    : config_(config), weights_(std::move(weights)),
      rope_(runtime::make_rope_3d_table(config.head_dim, config.rope_max_seq_len)) {}

TextContext WanTransformer::prepare_text(runtime::ThreadPool& pool, const float* text_embeds, int64_t tokens) const {
  const int64_t dim = config_.dim();
  const float eps = static_cast<float>(config_.eps);
  std::vector<float> hidden(static_cast<size_t>(tokens * dim)), text(hidden.size());
  project(pool, text_embeds, tokens, weights_.text_linear_1, hidden.data());
  runtime::gelu_tanh(hidden.data(), tokens * dim, hidden.data());
  project(pool, hidden.data(), tokens, weights_.text_linear_2, text.data());
  TextContext context;
  context.tokens = tokens;
  for (const WanBlockWeights& block : weights_.blocks) {
    std::vector<float> k(text.size()), v(text.size());
    project(pool, text.data(), tokens, block.cross_attention.to_k, k.data());
    runtime::rms_norm(k.data(), tokens, dim, block.cross_attention.norm_k.data(), eps, k.data());
    project(pool, text.data(), tokens, block.cross_attention.to_v, v.data());
    context.keys.push_back(std::move(k));
    context.values.push_back(std::move(v));
  }
  return context;
}

WanTransformer::FrameConditioning WanTransformer::condition(runtime::ThreadPool& pool, const float* frame_timesteps,
                                                            int64_t frames) const {
  const int64_t dim = config_.dim();
  std::vector<float> features;
  for (int64_t f = 0; f < frames; ++f) {
    const std::vector<float> one = timestep_features(frame_timesteps[f], config_.freq_dim);
    features.insert(features.end(), one.begin(), one.end());
  }
  FrameConditioning conditioning;
  std::vector<float> hidden(static_cast<size_t>(frames * dim));
  project(pool, features.data(), frames, weights_.time_linear_1, hidden.data());
  silu(hidden.data(), frames * dim);
  conditioning.time_embedding.resize(hidden.size());
  project(pool, hidden.data(), frames, weights_.time_linear_2, conditioning.time_embedding.data());
  hidden = conditioning.time_embedding;
  silu(hidden.data(), frames * dim);
  conditioning.projection.resize(static_cast<size_t>(frames * 6 * dim));
  project(pool, hidden.data(), frames, weights_.time_projection, conditioning.projection.data());
  return conditioning;
}

void WanTransformer::self_attention(runtime::ThreadPool& pool, const WanBlockWeights& block, int64_t layer,
                                    const float* normed, const ChunkShape& shape, int64_t first_frame, ChunkKv& kv,
                                    bool commit, float* out) const {
  const int64_t dim = config_.dim(), heads = config_.num_heads, head_dim = config_.head_dim;
  const int64_t rows = shape.height / config_.patch[1], columns = shape.width / config_.patch[2];
  const int64_t n = shape.frames * rows * columns;
  const int64_t history = kv.history_tokens();
  const float eps = static_cast<float>(config_.eps);
  const WanAttentionWeights& attention = block.self_attention;
  std::vector<float> q(static_cast<size_t>(n * dim)), mixed(q.size());
  std::vector<float> keys(static_cast<size_t>((history + n) * dim)), values(keys.size());
  float* own_k = keys.data() + history * dim;
  float* own_v = values.data() + history * dim;
  project(pool, normed, n, attention.to_q, q.data());
  runtime::rms_norm(q.data(), n, dim, attention.norm_q.data(), eps, q.data());
  project(pool, normed, n, attention.to_k, own_k);
  runtime::rms_norm(own_k, n, dim, attention.norm_k.data(), eps, own_k);
  project(pool, normed, n, attention.to_v, own_v);
  std::vector<int32_t> frame_of(static_cast<size_t>(n)), row_of(frame_of.size()), column_of(frame_of.size());
  for (int64_t t = 0; t < n; ++t) {
    frame_of[static_cast<size_t>(t)] = static_cast<int32_t>(first_frame + t / (rows * columns));
    row_of[static_cast<size_t>(t)] = static_cast<int32_t>((t / columns) % rows);
    column_of[static_cast<size_t>(t)] = static_cast<int32_t>(t % columns);
  }
  runtime::apply_rope_3d(rope_, q.data(), n, heads, frame_of.data(), row_of.data(), column_of.data());
  runtime::apply_rope_3d(rope_, own_k, n, heads, frame_of.data(), row_of.data(), column_of.data());
  if (history > 0) kv.read_history(layer, keys.data(), values.data());
  if (commit) kv.write_chunk(layer, own_k, own_v);
  runtime::dense_attention(pool, q.data(), n, keys.data(), values.data(), history + n, heads, head_dim,
                           1.0f / std::sqrt(static_cast<float>(head_dim)), mixed.data());
  project(pool, mixed.data(), n, attention.to_out, out);
}

void WanTransformer::cross_attention(runtime::ThreadPool& pool, const WanBlockWeights& block, int64_t layer,
                                     const float* normed, int64_t n, const TextContext& text, float* out) const {
  const int64_t dim = config_.dim();
  const WanAttentionWeights& attention = block.cross_attention;
  std::vector<float> q(static_cast<size_t>(n * dim)), mixed(q.size());
  project(pool, normed, n, attention.to_q, q.data());
  runtime::rms_norm(q.data(), n, dim, attention.norm_q.data(), static_cast<float>(config_.eps), q.data());
  runtime::dense_attention(pool, q.data(), n, text.keys[static_cast<size_t>(layer)].data(),
                           text.values[static_cast<size_t>(layer)].data(), text.tokens, config_.num_heads,
                           config_.head_dim, 1.0f / std::sqrt(static_cast<float>(config_.head_dim)), mixed.data());
  project(pool, mixed.data(), n, attention.to_out, out);
}

std::vector<float> WanTransformer::forward(runtime::ThreadPool& pool, const float* latents, const ChunkShape& shape,
                                           const float* frame_timesteps, int64_t first_frame, const TextContext& text,
                                           ChunkKv& kv, bool commit) const {
  const int64_t p = config_.patch[1];
  if (shape.frames < 1 || shape.height % p != 0 || shape.width % p != 0 || shape.height < p || shape.width < p) {
    runtime::throw_invalid("wan: latent chunk " + std::to_string(shape.frames) + "x" + std::to_string(shape.height) +
                           "x" + std::to_string(shape.width) + " is not a whole number of " + std::to_string(p) +
                           "x" + std::to_string(p) + " patches");
  }
  if (static_cast<int64_t>(text.keys.size()) != config_.num_layers) runtime::throw_invalid("wan: text context has no K/V");
  const int64_t dim = config_.dim(), frames = shape.frames;
  const int64_t per_frame = tokens_per_frame(shape.height, shape.width), n = frames * per_frame;
  const float eps = static_cast<float>(config_.eps);
  const std::vector<float> tokens = patchify(latents, config_.in_channels, frames, shape.height, shape.width, p);
  std::vector<float> x(static_cast<size_t>(n * dim)), normed(x.size()), delta(x.size());
  project(pool, tokens.data(), n, weights_.patch_embedding, x.data());
  const FrameConditioning conditioning = condition(pool, frame_timesteps, frames);
  std::vector<float> modulation(static_cast<size_t>(frames * 6 * dim));
  std::vector<float> hidden(static_cast<size_t>(n * config_.ffn_dim));
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    const WanBlockWeights& block = weights_.blocks[static_cast<size_t>(layer)];
    for (int64_t f = 0; f < frames; ++f)
      for (int64_t i = 0; i < 6 * dim; ++i)
        modulation[static_cast<size_t>(f * 6 * dim + i)] =
            block.modulation[static_cast<size_t>(i)] + conditioning.projection[static_cast<size_t>(f * 6 * dim + i)];
    const float* m = modulation.data();  // shift, scale, gate, c_shift, c_scale, c_gate
    const int64_t stride = 6 * dim;
    modulated_norm(x.data(), frames, per_frame, dim, m, m + dim, stride, eps, normed.data());
    self_attention(pool, block, layer, normed.data(), shape, first_frame, kv, commit, delta.data());
    gated_add(x.data(), delta.data(), frames, per_frame, dim, m + 2 * dim, stride);
    if (config_.cross_attn_norm) {
      runtime::layer_norm(x.data(), n, dim, block.cross_norm_weight.data(), block.cross_norm_bias.data(), eps,
                          normed.data());
    } else {
      normed = x;
    }
    cross_attention(pool, block, layer, normed.data(), n, text, delta.data());
    runtime::add_in_place(x.data(), delta.data(), n * dim);
    modulated_norm(x.data(), frames, per_frame, dim, m + 3 * dim, m + 4 * dim, stride, eps, normed.data());
    project(pool, normed.data(), n, block.ffn_in, hidden.data());
    runtime::gelu_tanh(hidden.data(), n * config_.ffn_dim, hidden.data());
    project(pool, hidden.data(), n, block.ffn_out, delta.data());
    gated_add(x.data(), delta.data(), frames, per_frame, dim, m + 5 * dim, stride);
  }
  // Output head: shift, scale = table[2, dim] + temb of the token's frame.
  std::vector<float> head(static_cast<size_t>(frames * 2 * dim));
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < dim; ++i)
        head[static_cast<size_t>((f * 2 + j) * dim + i)] =
            weights_.output_modulation[static_cast<size_t>(j * dim + i)] +
            conditioning.time_embedding[static_cast<size_t>(f * dim + i)];
  modulated_norm(x.data(), frames, per_frame, dim, head.data(), head.data() + dim, 2 * dim, eps, normed.data());
  std::vector<float> rows(static_cast<size_t>(n * weights_.proj_out.out()));
  project(pool, normed.data(), n, weights_.proj_out, rows.data());
  return unpatchify(rows.data(), config_.out_channels, frames, shape.height, shape.width, p);
}

}  // namespace citadel::vista
