// WanVaeStream: the decoder's forward pass over a request's conv caches.
#include "wan_vae_decoder.h"

#include "runtime/core/error.h"
#include "runtime/kernels/conv3d.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace citadel::vista {

namespace {

using runtime::RuntimeError;

void silu_in_place(std::vector<float>& values) {
  for (float& v : values) v = v / (1.0f + std::exp(-v));
}

// RMS norm over channels at every (frame, pixel), then SiLU.
VideoTensor norm_silu(const VideoTensor& x, const std::vector<float>& gamma) {
  VideoTensor y(x.channels, x.frames, x.height, x.width);
  runtime::channel_rms_norm(x.data.data(), x.channels, x.frames * x.plane(), gamma.data(), y.data.data());
  silu_in_place(y.data);
  return y;
}

}  // namespace

// Frames [first, first + count) of x.
VideoTensor frame_range(const VideoTensor& x, int64_t first, int64_t count) {
  VideoTensor y(x.channels, count, x.height, x.width);
  if (count == 0) return y;
  const size_t bytes = static_cast<size_t>(count * x.plane()) * sizeof(float);
  for (int64_t c = 0; c < x.channels; ++c)
    std::memcpy(y.data.data() + c * count * x.plane(), x.data.data() + (c * x.frames + first) * x.plane(), bytes);
  return y;
}

// a then b along time (same channels and size).
VideoTensor concat_frames(const VideoTensor& a, const VideoTensor& b) {
  if (a.frames == 0) return b;
  if (b.frames == 0) return a;  // b's data may be empty (a null pointer memcpy may not take)
  VideoTensor y(a.channels, a.frames + b.frames, a.height, a.width);
  for (int64_t c = 0; c < a.channels; ++c) {
    float* out = y.data.data() + c * y.frames * y.plane();
    std::memcpy(out, a.data.data() + c * a.frames * a.plane(), static_cast<size_t>(a.frames * a.plane()) * sizeof(float));
    std::memcpy(out + a.frames * a.plane(), b.data.data() + c * b.frames * b.plane(),
                static_cast<size_t>(b.frames * b.plane()) * sizeof(float));
  }
  return y;
}

void WanVaeDecoder::denormalize(VideoTensor& latents) const {
  if (latents.channels != weights_.z_dim)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, "vae: latents have " + std::to_string(latents.channels) +
                                                         " channels, the VAE takes " + std::to_string(weights_.z_dim));
  const int64_t per_channel = latents.frames * latents.plane();
  for (int64_t c = 0; c < latents.channels; ++c) {
    float* values = latents.data.data() + c * per_channel;
    for (int64_t i = 0; i < per_channel; ++i) values[i] = values[i] * weights_.latents_std[c] + weights_.latents_mean[c];
  }
}

std::vector<float>& WanVaeStream::next_history() {
  if (next_slot_ == histories_.size()) histories_.emplace_back();
  return histories_[next_slot_++];
}

VideoTensor WanVaeStream::conv(const VaeConv& layer, const VideoTensor& x) {
  const runtime::Conv3dGeometry& g = layer.geometry;
  if (x.channels != g.in_channels)
    throw RuntimeError(CITADEL_ERR_INTERNAL, "vae: " + layer.name + " takes " + std::to_string(g.in_channels) +
                                                 " channels, got " + std::to_string(x.channels));
  VideoTensor y(g.out_channels, x.frames - g.kernel_t + 1, x.height + 2 * g.pad_h - g.kernel_h + 1,
                x.width + 2 * g.pad_w - g.kernel_w + 1);
  runtime::conv3d(pool_, x.data.data(), x.frames, x.height, x.width, layer.weight.data(), layer.bias.data(), g,
                  y.data.data());
  return y;
}

// The input after the conv's history (zeros before the first frame); the
// history becomes the last kernel_t - 1 frames of that sequence.
VideoTensor WanVaeStream::causal_conv(const VaeConv& layer, const VideoTensor& x) {
  const int64_t kept = layer.geometry.kernel_t - 1;
  if (kept == 0) return conv(layer, x);
  std::vector<float>& history = next_history();
  const size_t history_size = static_cast<size_t>(x.channels * kept * x.plane());
  if (history.empty()) history.assign(history_size, 0.0f);
  if (history.size() != history_size)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, "vae: " + layer.name + ": frame size changed within a stream");
  VideoTensor past(x.channels, kept, x.height, x.width);
  past.data = std::move(history);
  VideoTensor sequence = concat_frames(past, x);
  history = frame_range(sequence, sequence.frames - kept, kept).data;
  return conv(layer, sequence);
}

VideoTensor WanVaeStream::residual(const VaeResidualBlock& block, const VideoTensor& x) {
  VideoTensor shortcut = block.shortcut ? conv(*block.shortcut, x) : x;
  VideoTensor h = causal_conv(block.conv1, norm_silu(x, block.norm1_gamma));
  h = causal_conv(block.conv2, norm_silu(h, block.norm2_gamma));
  for (size_t i = 0; i < h.data.size(); ++i) h.data[i] += shortcut.data[i];
  return h;
}

// Per frame: RMS norm, q/k/v by a 1x1 conv, one head over the frame's pixels
// (scale 1/sqrt(channels)), a 1x1 projection, plus the input.
VideoTensor WanVaeStream::attention(const VaeAttentionBlock& block, const VideoTensor& x) {
  const int64_t channels = x.channels, pixels = x.plane(), frames = x.frames;
  VideoTensor normed(channels, frames, x.height, x.width);
  runtime::channel_rms_norm(x.data.data(), channels, frames * pixels, block.norm_gamma.data(), normed.data.data());
  const VideoTensor qkv = conv(block.to_qkv, normed);
  VideoTensor attended(channels, frames, x.height, x.width);
  const float scale = 1.0f / std::sqrt(static_cast<float>(channels));
  std::vector<float> q(static_cast<size_t>(pixels * channels)), k(q.size()), v(q.size());
  for (int64_t t = 0; t < frames; ++t) {
    // Token-major copies of this frame's q, k, v: [pixels, channels].
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = 0; p < pixels; ++p) {
        q[p * channels + c] = qkv.data[(c * frames + t) * pixels + p];
        k[p * channels + c] = qkv.data[((channels + c) * frames + t) * pixels + p];
        v[p * channels + c] = qkv.data[((2 * channels + c) * frames + t) * pixels + p];
      }
    pool_.parallel_for(0, pixels, [&](int64_t begin, int64_t end) {
      std::vector<float> scores(static_cast<size_t>(pixels));
      std::vector<float> out(static_cast<size_t>(channels));
      for (int64_t i = begin; i < end; ++i) {
        float largest = -INFINITY;
        for (int64_t j = 0; j < pixels; ++j) {
          float dot = 0.0f;
          for (int64_t c = 0; c < channels; ++c) dot += q[i * channels + c] * k[j * channels + c];
          scores[j] = dot * scale;
          largest = std::max(largest, scores[j]);
        }
        float total = 0.0f;
        for (float& s : scores) total += (s = std::exp(s - largest));
        std::fill(out.begin(), out.end(), 0.0f);
        for (int64_t j = 0; j < pixels; ++j)
          for (int64_t c = 0; c < channels; ++c) out[c] += scores[j] * v[j * channels + c];
        for (int64_t c = 0; c < channels; ++c) attended.data[(c * frames + t) * pixels + i] = out[c] / total;
      }
    });
  }
  VideoTensor y = conv(block.proj, attended);
  for (size_t i = 0; i < y.data.size(); ++i) y.data[i] += x.data[i];
  return y;
}

VideoTensor WanVaeStream::upsample(const VaeUpsampler& upsampler, const VideoTensor& x) {
  VideoTensor frames = x;
  if (upsampler.time_conv) {
    // The first frame of the stream skips the time conv ("Rep"); later ones
    // become two frames each: channels [0, C) then [C, 2C) of the conv.
    const int64_t skipped = latent_frames_ == 0 ? 1 : 0;
    VideoTensor head = frame_range(x, 0, skipped);
    VideoTensor doubled;
    if (x.frames > skipped) {
      const VideoTensor mixed = causal_conv(*upsampler.time_conv, frame_range(x, skipped, x.frames - skipped));
      const int64_t n = mixed.frames, c = x.channels;
      doubled = VideoTensor(c, 2 * n, x.height, x.width);
      const size_t bytes = static_cast<size_t>(x.plane()) * sizeof(float);
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t t = 0; t < n; ++t)
          for (int64_t half = 0; half < 2; ++half)
            std::memcpy(doubled.data.data() + (ch * 2 * n + 2 * t + half) * x.plane(),
                        mixed.data.data() + ((half * c + ch) * n + t) * x.plane(), bytes);
    } else {
      next_history();  // the time conv's slot, still empty (zeros) until its first frame
    }
    frames = concat_frames(head, doubled);
  }
  VideoTensor larger(frames.channels, frames.frames, 2 * frames.height, 2 * frames.width);
  runtime::upsample_nearest_2x(frames.data.data(), frames.channels * frames.frames, frames.height, frames.width,
                               larger.data.data());
  return conv(upsampler.spatial_conv, larger);
}

void WanVaeDecoder::check_latents(const VideoTensor& latents, int64_t frames_decoded, int64_t height,
                                  int64_t width) const {
  if (latents.channels != weights_.z_dim || latents.frames < 1 || latents.height < 1 || latents.width < 1)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                       "vae: latents must be [" + std::to_string(weights_.z_dim) + ", frames >= 1, h, w], got [" +
                           std::to_string(latents.channels) + ", " + std::to_string(latents.frames) + ", " +
                           std::to_string(latents.height) + ", " + std::to_string(latents.width) + "]");
  if (frames_decoded > 0 && (latents.height != height || latents.width != width))
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                       "vae: latent frames of " + std::to_string(latents.height) + "x" + std::to_string(latents.width) +
                           " after frames of " + std::to_string(height) + "x" + std::to_string(width));
}

VideoTensor WanVaeStream::push_pixels(const VideoTensor& latents) {
  const WanVaeWeights& w = decoder_.weights();
  decoder_.check_latents(latents, latent_frames_, latent_height_, latent_width_);
  next_slot_ = 0;
  VideoTensor x = conv(w.post_quant_conv, latents);
  x = causal_conv(w.conv_in, x);
  x = residual(w.mid_first, x);
  x = attention(w.mid_attention, x);
  x = residual(w.mid_second, x);
  for (const VaeUpBlock& block : w.up_blocks) {
    for (const VaeResidualBlock& resnet : block.resnets) x = residual(resnet, x);
    if (block.upsampler) x = upsample(*block.upsampler, x);
  }
  x = causal_conv(w.conv_out, norm_silu(x, w.norm_out_gamma));
  for (float& value : x.data) value = std::clamp(value, -1.0f, 1.0f);
  latent_frames_ += latents.frames;
  latent_height_ = latents.height;
  latent_width_ = latents.width;
  return x;
}

std::vector<RgbFrame> WanVaeStream::push(const VideoTensor& latents) { return to_rgb_frames(push_pixels(latents)); }

uint64_t WanVaeStream::state_bytes() const {
  uint64_t bytes = 0;
  for (const std::vector<float>& history : histories_) bytes += history.size() * sizeof(float);
  return bytes;
}

namespace {

class CpuVaeBackend final : public VaeBackend {
 public:
  CpuVaeBackend(const WanVaeDecoder& decoder, runtime::ThreadPool& pool) : decoder_(decoder), pool_(pool) {}
  std::unique_ptr<VaeStream> open_stream() override { return std::make_unique<WanVaeStream>(decoder_, pool_); }

 private:
  const WanVaeDecoder& decoder_;
  runtime::ThreadPool& pool_;
};

}  // namespace

std::unique_ptr<VaeBackend> make_cpu_vae_backend(const WanVaeDecoder& decoder, runtime::ThreadPool& pool) {
  return std::make_unique<CpuVaeBackend>(decoder, pool);
}

std::vector<RgbFrame> to_rgb_frames(const VideoTensor& pixels) {
  if (pixels.channels != 3)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, "vae: RGB frames need 3 channels, got " +
                                                         std::to_string(pixels.channels));
  std::vector<RgbFrame> frames(static_cast<size_t>(pixels.frames));
  const int64_t plane = pixels.plane();
  for (int64_t t = 0; t < pixels.frames; ++t) {
    RgbFrame& frame = frames[static_cast<size_t>(t)];
    frame.width = pixels.width;
    frame.height = pixels.height;
    frame.rgb.resize(static_cast<size_t>(plane * 3));
    for (int64_t c = 0; c < 3; ++c) {
      const float* channel = pixels.data.data() + (c * pixels.frames + t) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        const float unit = std::clamp(channel[p], -1.0f, 1.0f) * 0.5f + 0.5f;
        frame.rgb[static_cast<size_t>(p * 3 + c)] = static_cast<uint8_t>(std::lround(unit * 255.0f));
      }
    }
  }
  return frames;
}

}  // namespace citadel::vista
