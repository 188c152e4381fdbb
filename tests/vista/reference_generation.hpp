// The whole 3-chunk reference generation (gen.*) replayed through a
// ChunkForward backend: the reference's noise handed out chunk by chunk, the
// text of text.embeds, the warped Self-Forcing steps. Used by
// tests/vista/generation_test.cpp (CPU) and wan_cuda_test.cpp (CUDA).
#pragma once

#include "vista_reference.hpp"

#include "chunk_denoiser.h"
#include "chunk_forward.h"
#include "flow_schedule.h"

#include <memory>
#include <vector>

namespace citadel::test {

// gen.noise / gen.renoise handed out chunk by chunk.
class ReferenceNoise : public vista::NoiseSource {
 public:
  std::vector<float> noise(int64_t chunk, int64_t step, int64_t count) override {
    const int64_t plane = 64;
    std::vector<float> out;
    if (step < 0) {
      for (int64_t c = 0; c < 16; ++c)
        out.insert(out.end(), initial_.begin() + (c * 9 + chunk * 3) * plane,
                   initial_.begin() + (c * 9 + chunk * 3 + 3) * plane);
    } else {
      const auto begin = renoise_.begin() + (chunk * 3 + step) * count;
      out.assign(begin, begin + count);
    }
    return out;
  }

 private:
  std::vector<float> initial_ = vista_reference("gen.noise");
  std::vector<float> renoise_ = vista_reference("gen.renoise");
};

// Runs the generation through `forward` with the cache in `blocks` (host or
// device memory, as the backend expects) of `dtype`.
inline std::vector<float> generate_reference_video(vista::ChunkForward& forward, void* const* blocks,
                                                   int64_t num_blocks, runtime::DType dtype) {
  const std::vector<float> text = vista_reference("text.embeds");
  const std::unique_ptr<vista::PreparedText> context = forward.prepare_text(text.data(), 512);
  const vista::CacheBlocks cache{{forward.config().num_layers, forward.config().num_heads, forward.config().head_dim, 8,
                                  dtype},
                                 blocks, num_blocks, 16, {}};
  ReferenceNoise noise;
  const std::vector<float> timesteps = vista::warped_timesteps(vista::self_forcing_steps(), vista::kSelfForcingShift);
  std::vector<float> video(16 * 9 * 64);
  for (int64_t c = 0; c < 3; ++c) {
    const vista::ChunkPosition chunk{c, 3 * c, {3, 8, 8}};
    const std::vector<float> clean = vista::denoise_chunk(forward, *context, chunk, timesteps, noise, cache);
    vista::commit_chunk(forward, *context, chunk, clean, cache);
    for (int64_t ch = 0; ch < 16; ++ch)
      std::copy(clean.begin() + ch * 3 * 64, clean.begin() + (ch + 1) * 3 * 64, video.begin() + (ch * 9 + 3 * c) * 64);
  }
  return video;
}

}  // namespace citadel::test
