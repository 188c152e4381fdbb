// Timestep features, patchify and unpatchify (see wan_embeddings.h).
#include "wan_embeddings.h"

#include <cmath>

namespace citadel::vista {

std::vector<float> timestep_features(float t, int64_t dim) {
  const int64_t half = dim / 2;
  std::vector<float> features(static_cast<size_t>(dim));
  const float log_period = static_cast<float>(-std::log(10000.0));
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = log_period * static_cast<float>(i) / static_cast<float>(half);
    const float angle = t * std::exp(exponent);
    features[static_cast<size_t>(i)] = std::cos(angle);
    features[static_cast<size_t>(half + i)] = std::sin(angle);
  }
  return features;
}

std::vector<float> patchify(const float* latents, int64_t channels, int64_t frames, int64_t height, int64_t width,
                            int64_t patch) {
  const int64_t rows = height / patch, columns = width / patch, features = channels * patch * patch;
  std::vector<float> tokens(static_cast<size_t>(frames * rows * columns * features));
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < columns; ++q) {
        float* token = tokens.data() + ((f * rows + r) * columns + q) * features;
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t ph = 0; ph < patch; ++ph)
            for (int64_t pw = 0; pw < patch; ++pw)
              token[(c * patch + ph) * patch + pw] =
                  latents[((c * frames + f) * height + r * patch + ph) * width + q * patch + pw];
      }
  return tokens;
}

std::vector<float> unpatchify(const float* rows_in, int64_t channels, int64_t frames, int64_t height, int64_t width,
                              int64_t patch) {
  const int64_t rows = height / patch, columns = width / patch, features = channels * patch * patch;
  std::vector<float> latents(static_cast<size_t>(channels * frames * height * width));
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < columns; ++q) {
        const float* token = rows_in + ((f * rows + r) * columns + q) * features;
        for (int64_t ph = 0; ph < patch; ++ph)
          for (int64_t pw = 0; pw < patch; ++pw)
            for (int64_t c = 0; c < channels; ++c)
              latents[((c * frames + f) * height + r * patch + ph) * width + q * patch + pw] =
                  token[(ph * patch + pw) * channels + c];
      }
  return latents;
}

}  // namespace citadel::vista
