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
// shared), one VaeStream per request (not thread-safe; its state is
// state_bytes() of memory at the video's size), made by the model's
// VaeBackend: WanVaeStream on the CPU, or CudaWanVaeStream (wan_vae_cuda.h,
// CUDA builds) on a CUDA device, with the same results within f16-GEMM
// tolerance. Errors are runtime::RuntimeError naming the tensor or the shape
// at fault.
#pragma once

#include "wan_vae_weights.h"

#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <filesystem>
#include <memory>
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

// Frames [first, first + count) of x, and a then b along time (same
// channels and size).
VideoTensor frame_range(const VideoTensor& x, int64_t first, int64_t count);
VideoTensor concat_frames(const VideoTensor& a, const VideoTensor& b);

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
  // Throws (naming the shapes) unless `latents` are [z_dim, n >= 1, h, w]
  // and, once a stream has decoded frames, of its latent height x width.
  void check_latents(const VideoTensor& latents, int64_t frames_decoded, int64_t height, int64_t width) const;

 private:
  WanVaeWeights weights_;
};

// One request's streaming decode state, on the CPU or a device.
class VaeStream {
 public:
  virtual ~VaeStream() = default;
  // Decodes the next latent frames (the decoder's input [z_dim, n, h, w],
  // n >= 1, the same h and w every call) into pixels [3, m, s*h, s*w] in
  // [-1, 1]: m = 1 + t*(n-1) for the first call, t*n afterwards (t the
  // temporal factor, s the spatial one).
  virtual VideoTensor push_pixels(const VideoTensor& latents) = 0;
  // The same, as RGB frames ((x + 1) / 2 * 255 rounded).
  virtual std::vector<RgbFrame> push(const VideoTensor& latents) = 0;
  virtual int64_t latent_frames_decoded() const = 0;
  // Bytes held by the convolution caches.
  virtual uint64_t state_bytes() const = 0;
};

// Makes a model's per-request streams on its device (one per model; its
// streams are used one at a time, as the plugin's steps are).
class VaeBackend {
 public:
  virtual ~VaeBackend() = default;
  virtual std::unique_ptr<VaeStream> open_stream() = 0;
  // Device bytes its weights take (0 on the CPU).
  virtual uint64_t device_weight_bytes() const { return 0; }
};

// WanVaeStreams over `pool`; the decoder and the pool outlive the backend.
std::unique_ptr<VaeBackend> make_cpu_vae_backend(const WanVaeDecoder& decoder, runtime::ThreadPool& pool);
// How the CUDA decoder's convolutions run: im2col + cuBLAS f16 GEMMs, or
// cuDNN in TF32 (wan_vae_cuda.h).
enum class VaeConvolutions { im2col_gemm, cudnn };
// CUDA builds only (wan_vae_cuda.cpp): the weights uploaded once, streams
// queued on `stream` (a cudaStream_t) sharing one device workspace.
std::unique_ptr<VaeBackend> make_cuda_vae_backend(const WanVaeDecoder& decoder, void* stream,
                                                  VaeConvolutions convolutions = VaeConvolutions::im2col_gemm);

// The decoder on the CPU in fp32.
class WanVaeStream final : public VaeStream {
 public:
  WanVaeStream(const WanVaeDecoder& decoder, runtime::ThreadPool& pool) : decoder_(decoder), pool_(pool) {}

  VideoTensor push_pixels(const VideoTensor& latents) override;
  std::vector<RgbFrame> push(const VideoTensor& latents) override;
  int64_t latent_frames_decoded() const override { return latent_frames_; }
  uint64_t state_bytes() const override;

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
