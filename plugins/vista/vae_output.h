// DecodedFrameOutput: the ChunkOutput that streams RGB frames. Each finished
// chunk's clean latents are denormalised (z * std + mean) and pushed through
// the request's own VAE stream (vae/wan_vae_decoder.h's VaeStream, CPU or
// CUDA as the model's VaeBackend made it: the causal convolution caches live
// with the request), which gives 1 + 4(F-1) frames
// for the first chunk and 4F for later ones (frames past the request's
// count dropped); each frame is one item, W*H*3
// bytes RGB (HWC uint8), data_type "image/x-raw-rgb;width=W;height=H;chunk=K"
// (the frame contract of host/media/raw_frame_type.h). Used by VistaModel.
#pragma once

#include "chunk_output.h"
#include "wan_vae_decoder.h"

#include <algorithm>
#include <memory>

namespace citadel::vista {

class DecodedFrameOutput : public ChunkOutput {
 public:
  // frames: the frames asked for; decoded frames past them are dropped.
  DecodedFrameOutput(const WanVaeDecoder& decoder, std::unique_ptr<VaeStream> stream, int64_t frames)
      : decoder_(decoder), stream_(std::move(stream)), frames_(frames) {}
  std::vector<OutputItem> emit(const std::vector<float>& clean, const ChunkPosition& chunk, int64_t channels) override;
  int64_t items_for(int64_t latent_frames, int64_t) const override {
    return std::min<int64_t>(frames_, 1 + 4 * (latent_frames - 1));
  }

 private:
  const WanVaeDecoder& decoder_;
  std::unique_ptr<VaeStream> stream_;
  int64_t frames_, emitted_ = 0;
};

}  // namespace citadel::vista
