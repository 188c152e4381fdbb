// WanVaeDecoder: the AutoencoderKLWan (Wan2.1 VAE) decoder on the CPU in fp32,
// and WanVaeStream, one request's streaming decode state. A stream takes
// latent frames as the generator finishes them and returns the pixel frames
// they complete: every causal 3-D convolution keeps the last kernel_t - 1
// frames of its input (diffusers' feat_cache: zeros before the first frame),
// and the 3-D upsamplers pass the very first frame through without their
// time convolution (diffusers' "Rep"), so latent frame 0 gives 1 pixel frame
// and every later one gives temporal_factor() frames. Pushing frames one at a
// time or several at once gives the same pixels as diffusers'
// AutoencoderKLWan.decode (which clamps to [-1, 1]).
//
// Created by the vista plugin: one WanVaeDecoder per model (immutable,
// shared), one WanVaeStream per request (not thread-safe; its state is
// state_bytes() of memory at the video's size). Errors are
// runtime::RuntimeError naming the tensor or the shape at fault.
#pragma once

#include "wan_vae_weights.h"

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace citadel::vista {

// fp32 video tensor [channels, frames, height, width] (batch 1).
struct VideoTensor {
  int64_t channels = 0, frames = 0, height = 0, width = 0;
  std::vector<float> data;

  VideoTensor() = default;
  VideoTensor(int64_t c, int64_t t, int64_t h, int64_t w)
      : channels(c), frames(t), height(h), width(w), data(static_cast<size_t>(c * t * h * w), 0.0f) {}
  int64_t plane() const { return height * width; }
};

// One decoded frame, RGB bytes in row-major HWC order.
struct RgbFrame {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

class WanVaeDecoder {
 public:
  explicit WanVaeDecoder(WanVaeWeights weights) : weights_(std::move(weights)) {}
  static WanVaeDecoder load(const std::filesystem::path& vae_dir) {
    return WanVaeDecoder(load_wan_vae_weights(vae_dir));
  }

  const WanVaeWeights& weights() const { return weights_; }
  int64_t z_dim() const { return weights_.z_dim; }

  // In place: z * latents_std + latents_mean per channel, the pipeline's
  // step from the generator's normalised latents [z_dim, frames, h, w] to
  // the decoder's input.
  void denormalize(VideoTensor& latents) const;

 private:
  WanVaeWeights weights_;
};

class WanVaeStream {
 public:
  WanVaeStream(const WanVaeDecoder& decoder, runtime::ThreadPool& pool) : decoder_(decoder), pool_(pool) {}

  // Decodes the next latent frames (the decoder's input [z_dim, n, h, w],
  // n >= 1, the same h and w every call) into pixels [3, m, s*h, s*w] in
  // [-1, 1]: m = 1 + t*(n-1) for the first call, t*n afterwards (t the
  // temporal factor, s the spatial one).
  VideoTensor push_pixels(const VideoTensor& latents);
  // The same, as RGB frames ((x + 1) / 2 * 255 rounded).
  std::vector<RgbFrame> push(const VideoTensor& latents);

  int64_t latent_frames_decoded() const { return latent_frames_; }
  // Bytes held by the convolution caches.
  uint64_t state_bytes() const;

 private:
  VideoTensor causal_conv(const VaeConv& conv, const VideoTensor& x);
  VideoTensor conv(const VaeConv& conv, const VideoTensor& x);  // kernel_t 1, no state
  VideoTensor residual(const VaeResidualBlock& block, const VideoTensor& x);
  VideoTensor attention(const VaeAttentionBlock& block, const VideoTensor& x);
  VideoTensor upsample(const VaeUpsampler& upsampler, const VideoTensor& x);
  std::vector<float>& next_history();

  const WanVaeDecoder& decoder_;
  runtime::ThreadPool& pool_;
  std::vector<std::vector<float>> histories_;  // one per causal conv, in call order
  size_t next_slot_ = 0;
  int64_t latent_frames_ = 0;
  int64_t latent_height_ = 0, latent_width_ = 0;
};

// RGB frames of pixels [3, frames, h, w] in [-1, 1].
std::vector<RgbFrame> to_rgb_frames(const VideoTensor& pixels);

}  // namespace citadel::vista
