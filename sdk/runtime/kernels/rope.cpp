// RoPE: inv_freq with linear / llama3 scaling, rotate-half application.
#include "runtime/kernels/rope.h"

#include <cmath>
#include <numbers>

namespace citadel::runtime {

std::vector<float> rope_inv_freq(int64_t rotary_dim, double theta, const RopeScaling& scaling) {
  std::vector<float> inv_freq(static_cast<size_t>(rotary_dim / 2));
  for (size_t j = 0; j < inv_freq.size(); ++j) {
    const double exponent = static_cast<double>(2 * j) / static_cast<double>(rotary_dim);
    inv_freq[j] = static_cast<float>(1.0 / std::pow(theta, exponent));
  }
  if (scaling.type == RopeScaling::Type::linear) {
    for (float& f : inv_freq) f = static_cast<float>(f / scaling.factor);
  } else if (scaling.type == RopeScaling::Type::llama3) {
    const double old_context = scaling.original_max_position_embeddings;
    const double low_freq_wavelen = old_context / scaling.low_freq_factor;
    const double high_freq_wavelen = old_context / scaling.high_freq_factor;
    for (float& f : inv_freq) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      if (wavelen > low_freq_wavelen) {
        f = static_cast<float>(f / scaling.factor);
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (old_context / wavelen - scaling.low_freq_factor) /
                              (scaling.high_freq_factor - scaling.low_freq_factor);
        f = static_cast<float>((1.0 - smooth) * f / scaling.factor + smooth * f);
      }
    }
  }
  return inv_freq;
}

void apply_rope(float* x, int64_t num_tokens, int64_t num_heads, int64_t head_dim,
                const int32_t* positions, const std::vector<float>& inv_freq) {
  const auto half = static_cast<int64_t>(inv_freq.size());
  std::vector<float> cos_table(static_cast<size_t>(half)), sin_table(static_cast<size_t>(half));
  for (int64_t t = 0; t < num_tokens; ++t) {
    const auto position = static_cast<float>(positions[t]);
    for (int64_t j = 0; j < half; ++j) {
      const float angle = position * inv_freq[static_cast<size_t>(j)];
      cos_table[static_cast<size_t>(j)] = std::cos(angle);
      sin_table[static_cast<size_t>(j)] = std::sin(angle);
    }
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int64_t j = 0; j < half; ++j) {
        const float a = v[j], b = v[j + half];
        const float c = cos_table[static_cast<size_t>(j)], s = sin_table[static_cast<size_t>(j)];
        v[j] = a * c - b * s;
        v[j + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace citadel::runtime
