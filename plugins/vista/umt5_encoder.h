// The UMT5 text encoder of Wan2.1 (transformers' UMT5EncoderModel): token
// embedding, then per layer x += SelfAttention(RMSNorm(x)) with T5's unscaled
// dot products plus the layer's own relative-position bias (bidirectional
// log buckets), and x += wo(gelu_tanh(wi_0 x) * wi_1 x) on RMSNorm(x); a final
// RMSNorm. Padding is masked as keys and its rows are zeroed on output, so
// only the prompt's tokens are computed. f32 compute over f32/f16/bf16 weights.
// Used by the vista model once per request; checked against transformers.
#pragma once

#include "model_config.h"
#include "weight_store.h"

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::vista {

// T5's bucket of a key at `relative_position` (key - query) from its query,
// bidirectional, computed in f32 like transformers.
int64_t t5_relative_bucket(int64_t relative_position, int64_t num_buckets, int64_t max_distance);

class Umt5Encoder {
 public:
  // Loads the encoder's tensors (names of transformers' UMT5EncoderModel).
  Umt5Encoder(const Umt5Config& config, const WeightStore& weights);
  const Umt5Config& config() const { return config_; }

  // Embeddings [padded_length, d_model] of ids (the first `valid` of them
  // are the prompt; rows from `valid` on are zero).
  std::vector<float> encode(runtime::ThreadPool& pool, std::span<const int32_t> ids, int64_t valid) const;

 private:
  struct Layer {
    std::vector<float> attention_norm, ffn_norm;
    Linear q, k, v, o, wi_0, wi_1, wo;
    std::vector<float> relative_bias;  // [num_buckets, num_heads]
  };
  void attention(runtime::ThreadPool& pool, const Layer& layer, const float* normed, int64_t n, float* out) const;

  Umt5Config config_;
  runtime::Tensor embedding_;  // [vocab, d_model]
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
};

}  // namespace citadel::vista
