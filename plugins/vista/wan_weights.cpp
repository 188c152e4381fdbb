// Loading and shape-checking the Wan transformer's tensors (see wan_weights.h).
#include "wan_weights.h"

#include <string>

namespace citadel::vista {
namespace {

WanAttentionWeights load_attention(const WeightStore& store, const std::string& prefix, int64_t dim) {
  WanAttentionWeights attention;
  attention.to_q = store.linear(prefix + ".to_q", dim, dim, true);
  attention.to_k = store.linear(prefix + ".to_k", dim, dim, true);
  attention.to_v = store.linear(prefix + ".to_v", dim, dim, true);
  attention.to_out = store.linear(prefix + ".to_out.0", dim, dim, true);
  attention.norm_q = store.floats(prefix + ".norm_q.weight", {dim});
  attention.norm_k = store.floats(prefix + ".norm_k.weight", {dim});
  return attention;
}

}  // namespace

WanWeights load_wan_weights(const WanConfig& config, const WeightStore& store) {
  const int64_t dim = config.dim();
  const int64_t patch_inputs = config.in_channels * config.patch[1] * config.patch[2];
  WanWeights weights;
  weights.patch_embedding.weight =
      store.tensor("patch_embedding.weight", {dim, config.in_channels, 1, config.patch[1], config.patch[2]})
          .reshaped({dim, patch_inputs});
  weights.patch_embedding.bias = store.floats("patch_embedding.bias", {dim});
  weights.time_linear_1 = store.linear("condition_embedder.time_embedder.linear_1", config.freq_dim, dim, true);
  weights.time_linear_2 = store.linear("condition_embedder.time_embedder.linear_2", dim, dim, true);
  weights.time_projection = store.linear("condition_embedder.time_proj", dim, 6 * dim, true);
  weights.text_linear_1 = store.linear("condition_embedder.text_embedder.linear_1", config.text_dim, dim, true);
  weights.text_linear_2 = store.linear("condition_embedder.text_embedder.linear_2", dim, dim, true);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "blocks." + std::to_string(i);
    WanBlockWeights block;
    block.modulation = store.floats(prefix + ".scale_shift_table", {1, 6, dim});
    block.self_attention = load_attention(store, prefix + ".attn1", dim);
    block.cross_attention = load_attention(store, prefix + ".attn2", dim);
    if (config.cross_attn_norm) {
      block.cross_norm_weight = store.floats(prefix + ".norm2.weight", {dim});
      block.cross_norm_bias = store.floats(prefix + ".norm2.bias", {dim});
    }
    block.ffn_in = store.linear(prefix + ".ffn.net.0.proj", dim, config.ffn_dim, true);
    block.ffn_out = store.linear(prefix + ".ffn.net.2", config.ffn_dim, dim, true);
    weights.blocks.push_back(std::move(block));
  }
  weights.output_modulation = store.floats("scale_shift_table", {1, 2, dim});
  weights.proj_out =
      store.linear("proj_out", dim, config.out_channels * config.patch[0] * config.patch[1] * config.patch[2], true);
  return weights;
}

}  // namespace citadel::vista
