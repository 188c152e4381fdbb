// Configurations of the two networks of a Wan2.1 text-to-video checkpoint, read
// from the diffusers layout: transformer/config.json (WanTransformer3DModel)
// and text_encoder/config.json (UMT5EncoderModel). Also the cache arithmetic
// that describe() reports. Used by the vista model loader and the tests.
#pragma once

#include <cstdint>
#include <filesystem>

namespace citadel::vista {

struct WanConfig {
  int64_t num_heads = 0;
  int64_t head_dim = 0;
  int64_t in_channels = 16;
  int64_t out_channels = 16;
  int64_t text_dim = 4096;
  int64_t freq_dim = 256;
  int64_t ffn_dim = 0;
  int64_t num_layers = 0;
  int64_t patch[3] = {1, 2, 2};
  int64_t rope_max_seq_len = 1024;
  double eps = 1e-6;
  bool cross_attn_norm = true;

  int64_t dim() const { return num_heads * head_dim; }
  // K and V of one cache token (a latent-frame patch token) in one layer.
  uint64_t kv_bytes_per_token_per_layer(uint64_t element_bytes) const {
    return 2 * static_cast<uint64_t>(dim()) * element_bytes;
  }
};

struct Umt5Config {
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  int64_t d_kv = 0;
  int64_t d_ff = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double eps = 1e-6;
};

// Throw RuntimeError naming the file and field for anything missing or
// unsupported (a patch size other than (1, p, p), a qk_norm other than
// rms_norm_across_heads, image conditioning, a non-gated-GELU UMT5).
WanConfig read_wan_config(const std::filesystem::path& config_json);
Umt5Config read_umt5_config(const std::filesystem::path& config_json);

}  // namespace citadel::vista
