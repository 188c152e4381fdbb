// What a finished chunk becomes in the request's step outputs: a queue of
// items, one per step output (data + MIME type). LatentOutput sends the
// chunk's clean latents as one item, float32 [channels, frames, height,
// width] little-endian, data_type
//   application/x-vista-latents;channels=C;frames=F;height=H;width=W;first_frame=N
// (used when the checkpoint has no VAE or `output: latents` is configured).
// Decoded RGB frames come from the VAE stage (vae_output.h). Used by VideoRequest.
#pragma once

#include "chunk_denoiser.h"

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::vista {

struct OutputItem {
  std::string data_type;
  std::vector<uint8_t> data;
};

class ChunkOutput {
 public:
  virtual ~ChunkOutput() = default;
  // The items of a finished chunk (clean latents [C, F, H, W]).
  virtual std::vector<OutputItem> emit(const std::vector<float>& clean, const ChunkPosition& chunk, int64_t channels) = 0;
  // Items the whole video will produce, for the request plan.
  virtual int64_t items_for(int64_t latent_frames, int64_t num_chunks) const = 0;
};

class LatentOutput : public ChunkOutput {
 public:
  std::vector<OutputItem> emit(const std::vector<float>& clean, const ChunkPosition& chunk, int64_t channels) override;
  int64_t items_for(int64_t, int64_t num_chunks) const override { return num_chunks; }
};

}  // namespace citadel::vista
