// One CUDA decode pass over a stream's conv caches (see wan_vae_cuda_pass.h):
// the same sequence of layers as WanVaeStream::push_pixels.
#include "wan_vae_cuda_pass.h"

#include "runtime/core/error.h"
#include "runtime/cuda/gemm_attention.h"
#include "runtime/cuda/vae_kernels.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace citadel::vista {

namespace cuda = runtime::cuda;
using runtime::RuntimeError;
using runtime::cuda::DeviceBuffer;

CudaVaePass::CudaVaePass(CudaWanVaeStream& stream)
    : stream_(stream), decoder_(stream.decoder_), workspace_(*stream.workspace_), cuda_stream_(stream.stream_) {}

DeviceVideo CudaVaePass::make(int64_t channels, int64_t frames, int64_t height, int64_t width) {
  return DeviceVideo(workspace_, channels, frames, height, width);
}

DeviceVideo CudaVaePass::copy(const DeviceVideo& x) {
  DeviceVideo y = make(x.channels, x.frames, x.height, x.width);
  cuda::copy_frames(x.data(), x.frames, 0, y.data(), y.frames, 0, x.channels, x.frames, x.plane(), cuda_stream_);
  return y;
}

DeviceVideo CudaVaePass::norm(const DeviceVideo& x, const DeviceBuffer& gamma, bool silu) {
  DeviceVideo y = make(x.channels, x.frames, x.height, x.width);
  cuda::channel_rms_norm(x.data(), x.channels, x.frames * x.plane(), gamma.as<float>(), silu, y.data(), cuda_stream_);
  return y;
}

void CudaVaePass::convolve(const CudaVaeConv& conv, const DeviceVideo& x, int64_t first, int64_t count, bool upsample,
                           DeviceVideo& out, bool accumulate, bool normed) {
  const runtime::Conv3dGeometry& g = conv.geometry;
  if (x.channels != g.in_channels)
    throw RuntimeError(CITADEL_ERR_INTERNAL, "vae cuda: " + conv.name + " takes " + std::to_string(g.in_channels) +
                                                 " channels, got " + std::to_string(x.channels));
  const int64_t kept = g.kernel_t - 1, plane = x.plane(), scale = upsample ? 2 : 1;
  if (out.channels != g.out_channels || out.frames != count || out.height != scale * x.height ||
      out.width != scale * x.width)
    throw RuntimeError(CITADEL_ERR_INTERNAL, "vae cuda: " + conv.name + ": output tensor of the wrong shape");
  DeviceBuffer* history = nullptr;
  const uint64_t history_bytes = static_cast<uint64_t>(g.in_channels * kept * plane) * sizeof(float);
  if (kept > 0) {
    history = &stream_.histories_[static_cast<size_t>(conv.cache_slot)];
    if (history->data() == nullptr) {  // zeros before the first frame
      *history = workspace_.take(history_bytes, "vista vae conv cache");
      history->zero(cuda_stream_);
      stream_.history_bytes_[static_cast<size_t>(conv.cache_slot)] = history_bytes;
    }
  }
  cuda::Conv3dGemmInput input;
  input.history = history != nullptr ? history->as<float>() : nullptr;
  input.history_frames = kept;
  input.frames = x.data();
  input.frames_total = x.frames;
  input.first = first;
  input.count = count;
  input.height = x.height;
  input.width = x.width;
  input.upsample_2x = upsample;
  if (decoder_.convolutions() == VaeConvolutions::cudnn) {
    convolve_cudnn(conv, input, out, accumulate);
  } else {
    // The history holds earlier frames of the same input, normed alike.
    const bool scaled = !(normed && decoder_.norm_outputs_fit_f16());
    DeviceBuffer maxima;
    if (scaled) {
      maxima = workspace_.take(static_cast<size_t>(kept + count) * sizeof(float), "vista vae frame maxima");
      if (kept > 0)
        cuda::frame_max_abs(history->as<float>(), g.in_channels, kept, 0, kept, plane, maxima.as<float>(),
                            cuda_stream_);
      cuda::frame_max_abs(x.data(), g.in_channels, x.frames, first, count, plane, maxima.as<float>() + kept,
                          cuda_stream_);
    }
    input.frame_max = scaled ? maxima.as<float>() : nullptr;
    cuda::conv3d_gemm(workspace_.cublas, conv.view(), input, out.data(), accumulate, cuda_stream_);
    if (scaled) workspace_.give(std::move(maxima));  // later users queue after this conv on the same stream
  }
  if (kept == 0) return;
  // The history becomes the last `kept` frames of [history, new frames].
  DeviceBuffer next = workspace_.take(history_bytes, "vista vae conv cache");
  const int64_t from_history = std::max<int64_t>(0, kept - count), from_frames = kept - from_history;
  cuda::copy_frames(history->as<float>(), kept, count, next.as<float>(), kept, 0, g.in_channels, from_history, plane,
                    cuda_stream_);
  cuda::copy_frames(x.data(), x.frames, first + count - from_frames, next.as<float>(), kept, from_history,
                    g.in_channels, from_frames, plane, cuda_stream_);
  workspace_.give(std::move(*history));
  *history = std::move(next);
}

void CudaVaePass::convolve_cudnn(const CudaVaeConv& conv, const cuda::Conv3dGemmInput& input, DeviceVideo& out,
                                 bool accumulate) {
  const runtime::Conv3dGeometry& g = conv.geometry;
  const int64_t scale = input.upsample_2x ? 2 : 1, frames = input.history_frames + input.count;
  const int64_t height = scale * input.height, width = scale * input.width;
  // The new frames are the conv's whole input as they are: no copy.
  const bool direct = input.history_frames == 0 && !input.upsample_2x && input.first == 0 &&
                      input.count == input.frames_total;
  DeviceBuffer gathered;
  if (!direct) {
    gathered = workspace_.take(static_cast<size_t>(g.in_channels * frames * height * width) * sizeof(float),
                               "vista vae conv input");
    cuda::gather_conv_input(input, g.in_channels, gathered.as<float>(), cuda_stream_);
  }
  const cuda::Conv3dCudnnShape shape{g.in_channels, g.out_channels, g.kernel_t, g.kernel_h,
                                     g.kernel_w,    frames,         height,     width};
  workspace_.cudnn().forward(direct ? input.frames : gathered.as<float>(), shape, conv.weight_f32.as<float>(),
                             conv.bias.as<float>(), out.data(), accumulate, cuda_stream_);
  if (!direct) workspace_.give(std::move(gathered));  // later users queue after this conv on the same stream
}

DeviceVideo CudaVaePass::convolve(const CudaVaeConv& conv, const DeviceVideo& x, int64_t first, int64_t count,
                                  bool upsample, bool normed) {
  const int64_t scale = upsample ? 2 : 1;
  DeviceVideo y = make(conv.geometry.out_channels, count, scale * x.height, scale * x.width);
  convolve(conv, x, first, count, upsample, y, false, normed);
  return y;
}

DeviceVideo CudaVaePass::residual(const CudaVaeResidual& block, const DeviceVideo& x) {
  DeviceVideo out = block.shortcut ? convolve(*block.shortcut, x, 0, x.frames) : copy(x);
  DeviceVideo hidden;
  {
    const DeviceVideo normed = norm(x, block.norm1_gamma, true);
    hidden = convolve(block.conv1, normed, 0, normed.frames, false, true);
  }
  cuda::channel_rms_norm(hidden.data(), hidden.channels, hidden.frames * hidden.plane(), block.norm2_gamma.as<float>(),
                         true, hidden.data(), cuda_stream_);
  convolve(block.conv2, hidden, 0, hidden.frames, false, out, true, true);  // out = shortcut + conv2
  return out;
}

// Per frame: RMS norm, q/k/v by a 1x1 conv, one head over the frame's pixels
// (scale 1/sqrt(channels)) on token-major copies, a 1x1 projection, plus x.
DeviceVideo CudaVaePass::attention(const DeviceVideo& x) {
  const int64_t channels = x.channels, pixels = x.plane(), frames = x.frames;
  DeviceVideo tokens = make(3 * channels, frames, x.height, x.width);  // [frames * pixels, 3 channels]
  {
    const DeviceVideo normed = norm(x, decoder_.attention_gamma, false);
    const DeviceVideo qkv = convolve(decoder_.attention_qkv, normed, 0, frames, false, true);
    cuda::transpose(qkv.data(), 3 * channels, frames * pixels, tokens.data(), cuda_stream_);
  }
  DeviceVideo attended = make(channels, frames, x.height, x.width);
  {
    DeviceVideo rows = make(channels, frames, x.height, x.width);  // [frames * pixels, channels]
    const int64_t per_frame = cuda::gemm_attention_head_floats(pixels);
    const int64_t fitting = std::clamp<int64_t>((int64_t{256} << 20) / per_frame, 1, frames);
    DeviceBuffer scores = workspace_.take(static_cast<size_t>(fitting * per_frame) * sizeof(float), "vista vae scores");
    const float* q = tokens.data();
    cuda::gemm_attention(workspace_.cublas, q, q + channels, q + 2 * channels, 3 * channels, frames, pixels, 1,
                         channels, 1.0f / std::sqrt(static_cast<float>(channels)), rows.data(), nullptr, nullptr, 0,
                         0, scores.as<float>(), fitting * per_frame, cuda_stream_);
    workspace_.give(std::move(scores));
    cuda::transpose(rows.data(), frames * pixels, channels, attended.data(), cuda_stream_);
  }
  tokens.release();
  DeviceVideo out = copy(x);
  convolve(decoder_.attention_proj, attended, 0, frames, false, out, true);
  return out;
}

DeviceVideo CudaVaePass::upsample(const CudaVaeUpBlock& block, const DeviceVideo& x) {
  if (!block.time_conv) return convolve(*block.spatial_conv, x, 0, x.frames, true);
  // The first frame of the stream skips the time conv ("Rep"); later ones
  // become two frames each: channels [0, C) then [C, 2C) of the conv.
  const int64_t skipped = stream_.latent_frames_ == 0 ? 1 : 0, mixed_frames = x.frames - skipped;
  DeviceVideo frames = make(x.channels, skipped + 2 * mixed_frames, x.height, x.width);
  cuda::copy_frames(x.data(), x.frames, 0, frames.data(), frames.frames, 0, x.channels, skipped, x.plane(),
                    cuda_stream_);
  if (mixed_frames > 0) {
    const DeviceVideo mixed = convolve(*block.time_conv, x, skipped, mixed_frames);
    cuda::interleave_time_halves(mixed.data(), x.channels, mixed_frames, x.plane(), frames.data(), frames.frames,
                                 skipped, cuda_stream_);
  }
  return convolve(*block.spatial_conv, frames, 0, frames.frames, true);
}

DeviceVideo CudaVaePass::run(const float* latents, int64_t frames, int64_t height, int64_t width) {
  DeviceVideo x;
  {
    DeviceVideo input = make(decoder_.host().z_dim(), frames, height, width);
    input.buffer.upload(latents, static_cast<size_t>(input.channels * frames * height * width) * sizeof(float), 0,
                        cuda_stream_);
    x = convolve(decoder_.post_quant_conv, input, 0, frames);
  }
  x = convolve(decoder_.conv_in, x, 0, frames);
  x = residual(decoder_.mid_first, x);
  x = attention(x);
  x = residual(decoder_.mid_second, x);
  for (const CudaVaeUpBlock& block : decoder_.up_blocks) {
    for (const CudaVaeResidual& resnet : block.resnets) x = residual(resnet, x);
    if (block.spatial_conv) x = upsample(block, x);
  }
  cuda::channel_rms_norm(x.data(), x.channels, x.frames * x.plane(), decoder_.norm_out_gamma.as<float>(), true,
                         x.data(), cuda_stream_);
  x = convolve(decoder_.conv_out, x, 0, x.frames, false, true);
  cuda::clamp_values(x.data(), x.channels * x.frames * x.plane(), -1.0f, 1.0f, cuda_stream_);
  return x;
}

}  // namespace citadel::vista
