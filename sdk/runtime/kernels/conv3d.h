// 3-D convolution and the pieces of video decoders around it, fp32 on the
// CPU, channel-first layout ([channels, frames, height, width], batch 1):
// conv3d (stride 1, spatial zero padding, no time padding: the caller
// prepends the frames a causal convolution needs), the channel RMS norm of
// Wan's VAE (F.normalize over channels times sqrt(C) * gamma) and 2x nearest
// upsampling. Used by the vista plugin's VAE decoder (plugins/vista/vae); the
// reference for CUDA versions.
#pragma once

#include "runtime/core/thread_pool.h"

#include <cstdint>

namespace citadel::runtime {

struct Conv3dGeometry {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_t = 1, kernel_h = 1, kernel_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // zeros on both sides of height / width
};

// input [in_channels, in_frames, height, width]; weight [out_channels,
// in_channels, kernel_t, kernel_h, kernel_w] (torch's Conv3d layout); bias
// [out_channels] or null. output [out_channels, in_frames - kernel_t + 1,
// height + 2 pad_h - kernel_h + 1, width + 2 pad_w - kernel_w + 1]; must not
// alias input. Throws RuntimeError when the input has fewer frames than the
// kernel or the output would be empty. Threads over output channels.
void conv3d(ThreadPool& pool, const float* input, int64_t in_frames, int64_t height, int64_t width,
            const float* weight, const float* bias, const Conv3dGeometry& geometry, float* output);

// y[c, p] = x[c, p] / max(||x[:, p]||₂, 1e-12) * sqrt(channels) * gamma[c]
// for each of `positions` positions (x is [channels, positions]). y may equal x.
void channel_rms_norm(const float* x, int64_t channels, int64_t positions, const float* gamma,
                      float* y);

// y [planes, 2 height, 2 width] = nearest-neighbour 2x upsampling of x
// [planes, height, width] (torch "nearest" and "nearest-exact" agree at 2x).
void upsample_nearest_2x(const float* x, int64_t planes, int64_t height, int64_t width, float* y);

}  // namespace citadel::runtime
