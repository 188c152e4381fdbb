// The forward pass: embeddings, per layer RMSNorm -> q/k/v (+bias, +q/k norm)
// -> RoPE -> cache write -> paged attention -> o_proj -> residual, RMSNorm ->
// SwiGLU MLP -> residual; final norm and lm_head on the rows that need logits.
#include "forward.h"

#include "runtime/core/error.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/rope.h"

#include <cmath>

namespace citadel::llm {

runtime::RopeScaling rope_scaling(const RopeSettings& rope) {
  runtime::RopeScaling scaling;
  switch (rope.scaling) {
    case RopeScalingKind::none: scaling.type = runtime::RopeScaling::Type::none; break;
    case RopeScalingKind::linear: scaling.type = runtime::RopeScaling::Type::linear; break;
    case RopeScalingKind::llama3: scaling.type = runtime::RopeScaling::Type::llama3; break;
  }
  scaling.factor = rope.factor;
  scaling.low_freq_factor = rope.low_freq_factor;
  scaling.high_freq_factor = rope.high_freq_factor;
  scaling.original_max_position_embeddings = rope.original_max_position_embeddings;
  return scaling;
}

void check_chunk_fits(const HfModelConfig& config, const SequenceChunk& chunk) {
  const uint64_t end = uint64_t{chunk.first_position} + chunk.tokens.size();
  if (end > config.max_position_embeddings) {
    runtime::throw_invalid("sequence of " + std::to_string(end) + " tokens exceeds the context length " +
                           std::to_string(config.max_position_embeddings));
  }
  if (end > chunk.blocks.size() * uint64_t{kTokensPerBlock}) {
    runtime::throw_invalid("positions up to " + std::to_string(end) + " need " +
                           std::to_string((end + kTokensPerBlock - 1) / kTokensPerBlock) +
                           " cache blocks, the step gave " + std::to_string(chunk.blocks.size()));
  }
}

ForwardPass::ForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv)
    : config_(config), weights_(weights), kv_(kv),
      inv_freq_(runtime::rope_inv_freq(config.head_dim, config.rope.theta, rope_scaling(config.rope))) {}

std::vector<float> ForwardPass::run(std::span<const SequenceChunk> chunks, runtime::ThreadPool& pool) {
  const int64_t hidden = config_.hidden_size;
  size_t rows = 0;
  for (const SequenceChunk& chunk : chunks) {
    check_chunk_fits(config_, chunk);
    rows += chunk.tokens.size();
  }
  if (rows == 0) return {};
  std::vector<int32_t> ids;
  ids.reserve(rows);
  positions_.clear();
  for (const SequenceChunk& chunk : chunks) {
    ids.insert(ids.end(), chunk.tokens.begin(), chunk.tokens.end());
    for (size_t t = 0; t < chunk.tokens.size(); ++t) {
      positions_.push_back(static_cast<int32_t>(chunk.first_position + t));
    }
  }
  hidden_.resize(rows * hidden);
  normed_.resize(rows * hidden);
  weights_.embed(ids.data(), static_cast<int64_t>(rows), hidden_.data());

  for (size_t layer = 0; layer < weights_.layers.size(); ++layer) {
    attention_layer(layer, chunks, pool);
    mlp_layer(layer, pool);
  }

  // Final norm and lm_head on the rows that want logits (logits_rows).
  std::vector<float> last_rows;
  size_t row = 0;
  for (const SequenceChunk& chunk : chunks) {
    row += chunk.tokens.size();
    const size_t wanted_rows = logits_rows(chunk);
    last_rows.insert(last_rows.end(), hidden_.begin() + (row - wanted_rows) * hidden, hidden_.begin() + row * hidden);
  }
  const int64_t wanted = static_cast<int64_t>(last_rows.size() / hidden);
  runtime::rms_norm(last_rows.data(), wanted, hidden, weights_.final_norm.data_as<float>(),
                    static_cast<float>(config_.rms_norm_eps), last_rows.data());
  std::vector<float> logits(static_cast<size_t>(wanted) * weights_.lm_head.out_features());
  weights_.lm_head.forward(pool, last_rows.data(), wanted, logits.data());
  return logits;
}

void ForwardPass::attention_layer(size_t layer_index, std::span<const SequenceChunk> chunks,
                                  runtime::ThreadPool& pool) {
  const LayerWeights& layer = weights_.layers[layer_index];
  const int64_t rows = static_cast<int64_t>(positions_.size());
  const int64_t hidden = config_.hidden_size;
  const int64_t heads = config_.num_heads, kv_heads = config_.num_kv_heads, head_dim = config_.head_dim;
  const float eps = static_cast<float>(config_.rms_norm_eps);

  runtime::rms_norm(hidden_.data(), rows, hidden, layer.input_norm.data_as<float>(), eps, normed_.data());
  q_.resize(rows * heads * head_dim);
  k_.resize(rows * kv_heads * head_dim);
  v_.resize(rows * kv_heads * head_dim);
  attn_.resize(rows * heads * head_dim);
  proj_.resize(rows * hidden);
  layer.q.forward(pool, normed_.data(), rows, q_.data());
  layer.k.forward(pool, normed_.data(), rows, k_.data());
  layer.v.forward(pool, normed_.data(), rows, v_.data());
  if (config_.qk_norm) {
    runtime::rms_norm(q_.data(), rows * heads, head_dim, layer.q_norm.data_as<float>(), eps, q_.data());
    runtime::rms_norm(k_.data(), rows * kv_heads, head_dim, layer.k_norm.data_as<float>(), eps, k_.data());
  }
  runtime::apply_rope(q_.data(), rows, heads, head_dim, positions_.data(), inv_freq_);
  runtime::apply_rope(k_.data(), rows, kv_heads, head_dim, positions_.data(), inv_freq_);

  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  int64_t row = 0;
  for (const SequenceChunk& chunk : chunks) {
    const int64_t count = static_cast<int64_t>(chunk.tokens.size());
    if (count == 0) continue;
    const runtime::KvBlockView view = runtime::kv_block_view_for_layer(
        chunk.blocks.data(), static_cast<int64_t>(chunk.blocks.size()), kTokensPerBlock,
        static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_.dtype);
    runtime::kv_cache_write(view, chunk.first_position, count, k_.data() + row * kv_heads * head_dim,
                            v_.data() + row * kv_heads * head_dim);
    runtime::paged_attention(pool, q_.data() + row * heads * head_dim, count, heads, chunk.first_position,
                             view, scale, attn_.data() + row * heads * head_dim);
    row += count;
  }
  layer.o.forward(pool, attn_.data(), rows, proj_.data());
  if (all_reduce_ != nullptr) all_reduce_->sum(rank_, proj_.data(), static_cast<size_t>(rows * hidden), nullptr);
  runtime::add_in_place(hidden_.data(), proj_.data(), rows * hidden);
}

void ForwardPass::mlp_layer(size_t layer_index, runtime::ThreadPool& pool) {
  const LayerWeights& layer = weights_.layers[layer_index];
  const int64_t rows = static_cast<int64_t>(positions_.size());
  const int64_t hidden = config_.hidden_size;
  const int64_t ffn = config_.intermediate_size;
  runtime::rms_norm(hidden_.data(), rows, hidden, layer.post_attention_norm.data_as<float>(),
                    static_cast<float>(config_.rms_norm_eps), normed_.data());
  gate_.resize(rows * ffn);
  up_.resize(rows * ffn);
  layer.gate.forward(pool, normed_.data(), rows, gate_.data());
  layer.up.forward(pool, normed_.data(), rows, up_.data());
  runtime::silu_mul(gate_.data(), up_.data(), rows * ffn, gate_.data());
  layer.down.forward(pool, gate_.data(), rows, proj_.data());
  if (all_reduce_ != nullptr) all_reduce_->sum(rank_, proj_.data(), static_cast<size_t>(rows * hidden), nullptr);
  runtime::add_in_place(hidden_.data(), proj_.data(), rows * hidden);
}

}  // namespace citadel::llm
