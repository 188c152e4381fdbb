// Few-step denoising of a chunk and its committing pass (see chunk_denoiser.h).
#include "chunk_denoiser.h"

#include <cmath>

namespace citadel::vista {
namespace {

uint64_t split_mix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<float> SeededNoise::noise(int64_t chunk, int64_t step, int64_t count) {
  uint64_t state = seed_ ^ (static_cast<uint64_t>(chunk) * 0x100000001b3ull) ^ (static_cast<uint64_t>(step + 1) << 48);
  split_mix(state);
  std::vector<float> out(static_cast<size_t>(count));
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < count; i += 2) {
    // Uniforms in (0, 1]: 53 random bits.
    const double u1 = (static_cast<double>(split_mix(state) >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(split_mix(state) >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    out[static_cast<size_t>(i)] = static_cast<float>(radius * std::cos(kTwoPi * u2));
    if (i + 1 < count) out[static_cast<size_t>(i + 1)] = static_cast<float>(radius * std::sin(kTwoPi * u2));
  }
  return out;
}

std::vector<float> denoise_chunk(ChunkForward& model, const PreparedText& text, const ChunkPosition& chunk,
                                 const std::vector<float>& timesteps, NoiseSource& noise, const CacheBlocks& cache) {
  const ChunkShape& shape = chunk.shape;
  const int64_t count = model.config().in_channels * shape.frames * shape.height * shape.width;
  std::vector<float> x = noise.noise(chunk.index, -1, count);
  std::vector<float> clean(x.size());
  for (size_t i = 0; i < timesteps.size(); ++i) {
    const std::vector<float> frame_timesteps(static_cast<size_t>(shape.frames), timesteps[i]);
    const std::vector<float> v = model.forward(x.data(), chunk, frame_timesteps.data(), text, cache, false);
    const float sigma = timesteps[i] / 1000.0f;
    for (size_t j = 0; j < x.size(); ++j) clean[j] = x[j] - sigma * v[j];
    if (i + 1 < timesteps.size()) {
      const float next = timesteps[i + 1] / 1000.0f;
      const std::vector<float> fresh = noise.noise(chunk.index, static_cast<int64_t>(i), count);
      for (size_t j = 0; j < x.size(); ++j) x[j] = (1.0f - next) * clean[j] + next * fresh[j];
    }
  }
  return clean;
}

void commit_chunk(ChunkForward& model, const PreparedText& text, const ChunkPosition& chunk,
                  const std::vector<float>& clean, const CacheBlocks& cache) {
  const std::vector<float> zero(static_cast<size_t>(chunk.shape.frames), 0.0f);
  model.forward(clean.data(), chunk, zero.data(), text, cache, true);
}

}  // namespace citadel::vista
