// decoder_pass.h — the CPU forward pass of DeepSeek-OCR's decoder over one
// step's batch: any mix of prefill chunks and decode tokens of different
// requests, flattened into one matrix of rows. Input rows are the token
// embeddings, except the positions of an image's placeholder run, which take
// the vision encoder's rows. Per layer: RMSNorm -> q/k/v -> RoPE (rotate
// half) -> K/V into the request's cache blocks -> paged causal attention ->
// o_proj -> residual; RMSNorm -> dense or MoE feed-forward -> residual; then
// final norm and lm_head on the rows that want logits.
// KV cache layout (the SDK's standard one, runtime::kv_block_view_for_layer):
// a block holds kTokensPerBlock positions of every layer, per layer K then V
// as [tokens, kv_heads, head_dim] in f16 or f32.
// Called by the model (ocr_model.cpp) once per step, by the tests (fed the
// reference's image embeddings) and by the benchmark.
#pragma once

#include "decoder_config.h"
#include "decoder_weights.h"
#include "moe_mlp.h"

#include "runtime/core/dtype.h"
#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::deepseek_ocr {

inline constexpr uint32_t kTokensPerBlock = 16;

// Placeholder positions [begin, begin + count) of a sequence whose input rows
// are rows[0 .. count) ([count, hidden] f32) instead of token embeddings.
struct EmbeddingRun {
  uint32_t begin = 0;
  uint32_t count = 0;
  const float* rows = nullptr;
};

// One sequence's share of a step: tokens at positions
// [first_position, first_position + tokens.size()); earlier positions are in
// the blocks already.
struct DecoderChunk {
  std::span<const int32_t> tokens;
  uint32_t first_position = 0;
  std::span<void* const> blocks;  // block i holds positions [16 i, 16 i + 16)
  EmbeddingRun image;             // count 0: none
  bool want_logits = false;       // logits of the chunk's last token
  // The caller takes the argmax of that row as the next token (greedy,
  // nothing banned): a backend that can computes it where the logits are
  // and need not return the row (DecoderBackend::run_step).
  bool argmax_only = false;
};

class DecoderPass {
 public:
  DecoderPass(const DecoderConfig& config, const DecoderWeights& weights, runtime::DType kv_dtype);

  // Runs the chunks; returns logits [chunks wanting logits, vocab] in chunk
  // order. Throws runtime::RuntimeError when a chunk's positions exceed its
  // blocks or the context length.
  std::vector<float> run(std::span<const DecoderChunk> chunks, runtime::ThreadPool& pool);

  // K and V bytes of one cache token of one layer (for describe()).
  uint64_t bytes_per_token_per_layer() const;

 private:
  void embed(std::span<const DecoderChunk> chunks);
  void attention_layer(size_t layer, std::span<const DecoderChunk> chunks, runtime::ThreadPool& pool);

  const DecoderConfig& config_;
  const DecoderWeights& weights_;
  runtime::DType kv_dtype_;
  std::vector<float> inv_freq_;
  FeedForward feed_forward_;
  // Scratch, sized per step (rows = tokens of the step).
  std::vector<int32_t> positions_;
  std::vector<float> hidden_, normed_, q_, k_, v_, attn_, proj_;
};

}  // namespace citadel::deepseek_ocr
