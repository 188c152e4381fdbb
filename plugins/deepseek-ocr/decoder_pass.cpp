// The decoder's forward pass over a step's chunks.
#include "decoder_pass.h"

#include "runtime/core/error.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/rope.h"

#include <cmath>
#include <cstring>

namespace citadel::deepseek_ocr {

DecoderPass::DecoderPass(const DecoderConfig& config, const DecoderWeights& weights, runtime::DType kv_dtype)
    : config_(config), weights_(weights), kv_dtype_(kv_dtype),
      inv_freq_(runtime::rope_inv_freq(config.head_dim, config.rope_theta, runtime::RopeScaling{})),
      feed_forward_(config) {}

uint64_t DecoderPass::bytes_per_token_per_layer() const {
  return runtime::kv_bytes_per_token_per_layer(config_.num_kv_heads, config_.head_dim, kv_dtype_);
}

void DecoderPass::embed(std::span<const DecoderChunk> chunks) {
  const int64_t hidden = config_.hidden_size;
  int64_t row = 0;
  for (const DecoderChunk& chunk : chunks) {
    const int64_t count = static_cast<int64_t>(chunk.tokens.size());
    weights_.embed(chunk.tokens.data(), count, hidden_.data() + row * hidden);
    const EmbeddingRun& run = chunk.image;
    for (int64_t t = 0; t < count && run.count > 0; ++t) {
      const uint64_t position = chunk.first_position + t;
      if (position < run.begin || position >= uint64_t{run.begin} + run.count) continue;
      std::memcpy(hidden_.data() + (row + t) * hidden, run.rows + (position - run.begin) * hidden,
                  hidden * sizeof(float));
    }
    row += count;
  }
}

std::vector<float> DecoderPass::run(std::span<const DecoderChunk> chunks, runtime::ThreadPool& pool) {
  const int64_t hidden = config_.hidden_size;
  size_t rows = 0;
  positions_.clear();
  for (const DecoderChunk& chunk : chunks) {
    const uint64_t end = uint64_t{chunk.first_position} + chunk.tokens.size();
    if (end > config_.max_position_embeddings)
      runtime::throw_invalid("deepseek-ocr: a sequence of " + std::to_string(end) +
                             " tokens exceeds the context length " + std::to_string(config_.max_position_embeddings));
    if (end > chunk.blocks.size() * uint64_t{kTokensPerBlock})
      runtime::throw_invalid("deepseek-ocr: positions up to " + std::to_string(end) + " need " +
                             std::to_string((end + kTokensPerBlock - 1) / kTokensPerBlock) +
                             " cache blocks, the step gave " + std::to_string(chunk.blocks.size()));
    for (size_t t = 0; t < chunk.tokens.size(); ++t) positions_.push_back(static_cast<int32_t>(chunk.first_position + t));
    rows += chunk.tokens.size();
  }
  if (rows == 0) return {};
  hidden_.resize(rows * hidden);
  normed_.resize(rows * hidden);
  proj_.resize(rows * hidden);
  embed(chunks);

  const float eps = static_cast<float>(config_.rms_norm_eps);
  for (size_t layer = 0; layer < weights_.layers.size(); ++layer) {
    attention_layer(layer, chunks, pool);
    runtime::rms_norm(hidden_.data(), static_cast<int64_t>(rows), hidden,
                      weights_.layers[layer].post_attention_norm.data_as<float>(), eps, normed_.data());
    feed_forward_.run(pool, weights_.layers[layer], normed_.data(), static_cast<int64_t>(rows), proj_.data());
    runtime::add_in_place(hidden_.data(), proj_.data(), static_cast<int64_t>(rows) * hidden);
  }

  std::vector<float> last_rows;
  size_t row = 0;
  for (const DecoderChunk& chunk : chunks) {
    row += chunk.tokens.size();
    if (chunk.want_logits && !chunk.tokens.empty())
      last_rows.insert(last_rows.end(), hidden_.begin() + (row - 1) * hidden, hidden_.begin() + row * hidden);
  }
  const int64_t wanted = static_cast<int64_t>(last_rows.size()) / hidden;
  if (wanted == 0) return {};
  runtime::rms_norm(last_rows.data(), wanted, hidden, weights_.final_norm.data_as<float>(), eps, last_rows.data());
  std::vector<float> logits(static_cast<size_t>(wanted) * config_.vocab_size);
  weights_.lm_head.forward(pool, last_rows.data(), wanted, logits.data());
  return logits;
}

void DecoderPass::attention_layer(size_t layer_index, std::span<const DecoderChunk> chunks, runtime::ThreadPool& pool) {
  const DecoderLayerWeights& layer = weights_.layers[layer_index];
  const int64_t rows = static_cast<int64_t>(positions_.size());
  const int64_t hidden = config_.hidden_size;
  const int64_t heads = config_.num_heads, kv_heads = config_.num_kv_heads, head_dim = config_.head_dim;
  runtime::rms_norm(hidden_.data(), rows, hidden, layer.input_norm.data_as<float>(),
                    static_cast<float>(config_.rms_norm_eps), normed_.data());
  q_.resize(rows * heads * head_dim);
  k_.resize(rows * kv_heads * head_dim);
  v_.resize(rows * kv_heads * head_dim);
  attn_.resize(rows * heads * head_dim);
  layer.q.forward(pool, normed_.data(), rows, q_.data());
  layer.k.forward(pool, normed_.data(), rows, k_.data());
  layer.v.forward(pool, normed_.data(), rows, v_.data());
  runtime::apply_rope(q_.data(), rows, heads, head_dim, positions_.data(), inv_freq_);
  runtime::apply_rope(k_.data(), rows, kv_heads, head_dim, positions_.data(), inv_freq_);

  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  int64_t row = 0;
  for (const DecoderChunk& chunk : chunks) {
    const int64_t count = static_cast<int64_t>(chunk.tokens.size());
    if (count == 0) continue;
    const runtime::KvBlockView view = runtime::kv_block_view_for_layer(
        chunk.blocks.data(), static_cast<int64_t>(chunk.blocks.size()), kTokensPerBlock,
        static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_dtype_);
    runtime::kv_cache_write(view, chunk.first_position, count, k_.data() + row * kv_heads * head_dim,
                            v_.data() + row * kv_heads * head_dim);
    runtime::paged_attention(pool, q_.data() + row * heads * head_dim, count, heads, chunk.first_position, view, scale,
                             attn_.data() + row * heads * head_dim);
    row += count;
  }
  layer.o.forward(pool, attn_.data(), rows, proj_.data());
  runtime::add_in_place(hidden_.data(), proj_.data(), rows * hidden);
}

}  // namespace citadel::deepseek_ocr
