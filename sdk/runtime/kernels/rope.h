// Rotary position embeddings as HF Llama/Qwen apply them (the "neox" /
// rotate-half layout: dimension j pairs with j + rotary_dim/2), with the
// inv_freq table computed from rope_theta and optional scaling: "linear"
// (positions / factor) and "llama3" (per-frequency smoothing between
// low_freq_factor and high_freq_factor over original_max_position_embeddings).
// Used by model plugins; the reference for the CUDA version.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel::runtime {

struct RopeScaling {
  enum class Type { none, linear, llama3 };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
};

// inv_freq[j] = 1 / theta^(2j / rotary_dim), j < rotary_dim/2, then scaled.
std::vector<float> rope_inv_freq(int64_t rotary_dim, double theta, const RopeScaling& scaling);

// Rotates x [num_tokens, num_heads, head_dim] in place; token t is at
// positions[t]; only the first rotary_dim (= 2 * inv_freq.size()) dims of
// each head rotate. Angles are computed in f32 as HF does.
void apply_rope(float* x, int64_t num_tokens, int64_t num_heads, int64_t head_dim,
                const int32_t* positions, const std::vector<float>& inv_freq);

}  // namespace citadel::runtime
