// One chunk of causal generation: the few-step flow-matching loop of
// flow_schedule.h on the Wan transformer (every step attends to the cached
// frames, none writes them), then the committing pass on the clean latents at
// timestep 0 that writes the chunk's K/V into the cache. Noise comes from a
// NoiseSource: SeededNoise for requests (a counter-based stream per seed,
// chunk and step, so a replay or another batch order gives the same video),
// the reference's tensors in the tests. Runs on either ChunkForward backend.
// Used by VideoRequest.
#pragma once

#include "chunk_forward.h"

#include <cstdint>
#include <vector>

namespace citadel::vista {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // `count` standard-normal values: the chunk's starting noise (step -1) or
  // the fresh noise after denoising step `step`.
  virtual std::vector<float> noise(int64_t chunk, int64_t step, int64_t count) = 0;
};

// Gaussian noise from a seed (SplitMix64 -> Box-Muller), independent of the
// platform's <random> implementation.
class SeededNoise : public NoiseSource {
 public:
  explicit SeededNoise(uint64_t seed) : seed_(seed) {}
  std::vector<float> noise(int64_t chunk, int64_t step, int64_t count) override;

 private:
  uint64_t seed_;
};

// The clean latents [channels, frames, height, width] of a chunk after
// denoising through `timesteps` (model timesteps, first = pure noise).
std::vector<float> denoise_chunk(ChunkForward& model, const PreparedText& text, const ChunkPosition& chunk,
                                 const std::vector<float>& timesteps, NoiseSource& noise, const CacheBlocks& cache);

// The pass at timestep 0 over the clean latents that writes the chunk's K/V.
void commit_chunk(ChunkForward& model, const PreparedText& text, const ChunkPosition& chunk,
                  const std::vector<float>& clean, const CacheBlocks& cache);

}  // namespace citadel::vista
