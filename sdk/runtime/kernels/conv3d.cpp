// conv3d, channel_rms_norm, upsample_nearest_2x on the CPU.
#include "runtime/kernels/conv3d.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace citadel::runtime {

namespace {

// out[y, x] += w * in[y + dy - pad_h, x + dx - pad_w] over the rows and
// columns where the input index is inside the plane (zero padding).
void accumulate_tap(const float* in, int64_t height, int64_t width, float* out, int64_t out_h,
                    int64_t out_w, int64_t dy, int64_t dx, int64_t pad_h, int64_t pad_w, float w) {
  const int64_t y_begin = std::max<int64_t>(0, pad_h - dy);
  const int64_t y_end = std::min<int64_t>(out_h, height + pad_h - dy);
  const int64_t x_begin = std::max<int64_t>(0, pad_w - dx);
  const int64_t x_end = std::min<int64_t>(out_w, width + pad_w - dx);
  for (int64_t y = y_begin; y < y_end; ++y) {
    const float* src = in + (y + dy - pad_h) * width + (dx - pad_w);
    float* dst = out + y * out_w;
    for (int64_t x = x_begin; x < x_end; ++x) dst[x] += w * src[x];
  }
}

}  // namespace

void conv3d(ThreadPool& pool, const float* input, int64_t in_frames, int64_t height, int64_t width,
            const float* weight, const float* bias, const Conv3dGeometry& g, float* output) {
  const int64_t out_frames = in_frames - g.kernel_t + 1;
  const int64_t out_h = height + 2 * g.pad_h - g.kernel_h + 1;
  const int64_t out_w = width + 2 * g.pad_w - g.kernel_w + 1;
  if (out_frames <= 0 || out_h <= 0 || out_w <= 0 || g.in_channels <= 0 || g.out_channels <= 0)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                       "conv3d: input [" + std::to_string(g.in_channels) + ", " + std::to_string(in_frames) +
                           ", " + std::to_string(height) + ", " + std::to_string(width) + "] is too small for kernel (" +
                           std::to_string(g.kernel_t) + ", " + std::to_string(g.kernel_h) + ", " +
                           std::to_string(g.kernel_w) + ")");
  const int64_t plane = height * width;
  const int64_t out_plane = out_h * out_w;
  const int64_t taps = g.kernel_t * g.kernel_h * g.kernel_w;
  pool.parallel_for(0, g.out_channels * out_frames, [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      const int64_t co = job / out_frames;
      const int64_t t = job % out_frames;
      float* out = output + (co * out_frames + t) * out_plane;
      std::fill(out, out + out_plane, bias != nullptr ? bias[co] : 0.0f);
      for (int64_t ci = 0; ci < g.in_channels; ++ci) {
        const float* w = weight + (co * g.in_channels + ci) * taps;
        for (int64_t dt = 0; dt < g.kernel_t; ++dt) {
          const float* in = input + (ci * in_frames + t + dt) * plane;
          for (int64_t dy = 0; dy < g.kernel_h; ++dy)
            for (int64_t dx = 0; dx < g.kernel_w; ++dx)
              accumulate_tap(in, height, width, out, out_h, out_w, dy, dx, g.pad_h, g.pad_w,
                             w[(dt * g.kernel_h + dy) * g.kernel_w + dx]);
        }
      }
    }
  });
}

void channel_rms_norm(const float* x, int64_t channels, int64_t positions, const float* gamma,
                      float* y) {
  // Row by row over channels so that memory is read in order.
  std::vector<float> inverse(static_cast<size_t>(positions), 0.0f);
  for (int64_t c = 0; c < channels; ++c) {
    const float* row = x + c * positions;
    for (int64_t p = 0; p < positions; ++p) inverse[p] += row[p] * row[p];
  }
  const float scale = std::sqrt(static_cast<float>(channels));
  for (float& value : inverse) value = scale / std::max(std::sqrt(value), 1e-12f);
  for (int64_t c = 0; c < channels; ++c) {
    const float* row = x + c * positions;
    float* out = y + c * positions;
    for (int64_t p = 0; p < positions; ++p) out[p] = row[p] * inverse[p] * gamma[c];
  }
}

void upsample_nearest_2x(const float* x, int64_t planes, int64_t height, int64_t width, float* y) {
  for (int64_t p = 0; p < planes; ++p) {
    const float* src = x + p * height * width;
    float* dst = y + p * 4 * height * width;
    for (int64_t row = 0; row < 2 * height; ++row) {
      const float* src_row = src + (row / 2) * width;
      float* dst_row = dst + row * 2 * width;
      for (int64_t col = 0; col < 2 * width; ++col) dst_row[col] = src_row[col / 2];
    }
  }
}

}  // namespace citadel::runtime
