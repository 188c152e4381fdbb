// One chunk of causal generation: the few-step flow-matching loop of
// flow_schedule.h on the Wan transformer (every step attends to the cached
// frames, none writes them), then the committing pass on the clean latents at
// timestep 0 that writes the chunk's K/V into the cache. Noise comes from a
// NoiseSource: SeededNoise for requests (a counter-based stream per seed,
// chunk and step, so a replay or another batch order gives the same video),
// the reference's tensors in the tests. Used by the vista model.
#pragma once

#include "chunk_kv.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"

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

struct ChunkPosition {
  int64_t index = 0;        // chunk number (for the noise)
  int64_t first_frame = 0;  // absolute latent frame index (RoPE)
  ChunkShape shape;
};

// The clean latents [channels, frames, height, width] of a chunk after
// denoising through `timesteps` (model timesteps, first = pure noise).
std::vector<float> denoise_chunk(runtime::ThreadPool& pool, const WanTransformer& model, const TextContext& text,
                                 const ChunkPosition& chunk, const std::vector<float>& timesteps, NoiseSource& noise,
                                 ChunkKv& kv);

// The pass at timestep 0 over the clean latents that writes the chunk's K/V.
void commit_chunk(runtime::ThreadPool& pool, const WanTransformer& model, const TextContext& text,
                  const ChunkPosition& chunk, const std::vector<float>& clean, ChunkKv& kv);

}  // namespace citadel::vista
