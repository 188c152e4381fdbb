// Tests of the video decoder kernels (runtime/kernels/conv3d.h) against
// float64 references written from their definitions: conv3d with odd kernel
// sizes and padding (one and four threads give the same result), the channel
// RMS norm, nearest 2x upsampling, and the too-small-input error.
#include <catch2/catch.hpp>

#include "random_inputs.h"

#include "runtime/core/error.h"
#include "runtime/kernels/conv3d.h"

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::test::random_floats;

namespace {

std::vector<double> reference_conv3d(const std::vector<float>& in, int64_t frames, int64_t h, int64_t w,
                                     const std::vector<float>& weight, const std::vector<float>& bias,
                                     const Conv3dGeometry& g) {
  const int64_t of = frames - g.kernel_t + 1, oh = h + 2 * g.pad_h - g.kernel_h + 1,
                ow = w + 2 * g.pad_w - g.kernel_w + 1;
  std::vector<double> out(static_cast<size_t>(g.out_channels * of * oh * ow));
  for (int64_t co = 0; co < g.out_channels; ++co)
    for (int64_t t = 0; t < of; ++t)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          double sum = bias[co];
          for (int64_t ci = 0; ci < g.in_channels; ++ci)
            for (int64_t dt = 0; dt < g.kernel_t; ++dt)
              for (int64_t dy = 0; dy < g.kernel_h; ++dy)
                for (int64_t dx = 0; dx < g.kernel_w; ++dx) {
                  const int64_t sy = y + dy - g.pad_h, sx = x + dx - g.pad_w;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                  sum += static_cast<double>(in[((ci * frames + t + dt) * h + sy) * w + sx]) *
                         weight[(((co * g.in_channels + ci) * g.kernel_t + dt) * g.kernel_h + dy) * g.kernel_w + dx];
                }
          out[((co * of + t) * oh + y) * ow + x] = sum;
        }
  return out;
}

}  // namespace

TEST_CASE("conv3d matches the direct float64 sum with causal frames and spatial padding", "[runtime][conv3d]") {
  std::mt19937 rng(7);
  struct Case { Conv3dGeometry g; int64_t frames, h, w; };
  const std::vector<Case> cases = {
      {{3, 5, 3, 3, 3, 1, 1}, 4, 6, 7},   // WanCausalConv3d(3, padding=1) after 2 history frames
      {{4, 6, 3, 1, 1, 0, 0}, 5, 3, 4},   // the upsampler's time_conv
      {{5, 2, 1, 3, 3, 1, 1}, 2, 5, 5},   // a 2-D 3x3 conv, frame by frame
      {{7, 3, 1, 1, 1, 0, 0}, 1, 2, 9},   // 1x1x1 (post_quant_conv, shortcuts)
      {{2, 2, 2, 3, 5, 0, 2}, 3, 4, 6}};  // uneven kernel and padding
  ThreadPool one(1), four(4);
  for (const Case& c : cases) {
    const Conv3dGeometry& g = c.g;
    auto in = random_floats(static_cast<size_t>(g.in_channels * c.frames * c.h * c.w), rng);
    auto weight = random_floats(static_cast<size_t>(g.out_channels * g.in_channels * g.kernel_t * g.kernel_h * g.kernel_w), rng);
    auto bias = random_floats(static_cast<size_t>(g.out_channels), rng);
    const auto expected = reference_conv3d(in, c.frames, c.h, c.w, weight, bias, g);
    std::vector<float> got(expected.size()), got4(expected.size());
    conv3d(one, in.data(), c.frames, c.h, c.w, weight.data(), bias.data(), g, got.data());
    conv3d(four, in.data(), c.frames, c.h, c.w, weight.data(), bias.data(), g, got4.data());
    for (size_t i = 0; i < expected.size(); ++i) {
      INFO("kernel " << g.kernel_t << "x" << g.kernel_h << "x" << g.kernel_w << " index " << i);
      REQUIRE(std::abs(got[i] - expected[i]) <= 1e-5 * std::abs(expected[i]) + 1e-5);
      REQUIRE(got4[i] == got[i]);
    }
  }
}

TEST_CASE("conv3d without bias and with too few frames", "[runtime][conv3d]") {
  ThreadPool pool(1);
  const Conv3dGeometry g{1, 1, 3, 1, 1, 0, 0};
  const std::vector<float> in = {1.0f, 2.0f, 3.0f}, weight = {0.5f, 0.25f, 2.0f};
  float out = 0.0f;
  conv3d(pool, in.data(), 3, 1, 1, weight.data(), nullptr, g, &out);
  REQUIRE(out == Approx(0.5 + 0.5 + 6.0));
  REQUIRE_THROWS_WITH(conv3d(pool, in.data(), 2, 1, 1, weight.data(), nullptr, g, &out),
                      Catch::Contains("too small for kernel (3, 1, 1)"));
}

TEST_CASE("channel_rms_norm normalises each position over the channels", "[runtime][conv3d]") {
  std::mt19937 rng(3);
  const int64_t channels = 6, positions = 11;
  auto x = random_floats(static_cast<size_t>(channels * positions), rng);
  auto gamma = random_floats(static_cast<size_t>(channels), rng);
  std::vector<float> y(x.size());
  channel_rms_norm(x.data(), channels, positions, gamma.data(), y.data());
  for (int64_t p = 0; p < positions; ++p) {
    double norm = 0;
    for (int64_t c = 0; c < channels; ++c) norm += double(x[c * positions + p]) * x[c * positions + p];
    norm = std::sqrt(norm);
    for (int64_t c = 0; c < channels; ++c) {
      const double expected = x[c * positions + p] / norm * std::sqrt(double(channels)) * gamma[c];
      REQUIRE(std::abs(y[c * positions + p] - expected) <= 1e-5 * std::abs(expected) + 1e-6);
    }
  }
  // A zero vector stays zero (the 1e-12 floor of F.normalize), in place too.
  std::vector<float> zeros(static_cast<size_t>(channels), 0.0f);
  channel_rms_norm(zeros.data(), channels, 1, gamma.data(), zeros.data());
  for (float value : zeros) REQUIRE(value == 0.0f);
}

TEST_CASE("upsample_nearest_2x repeats every pixel into a 2x2 square", "[runtime][conv3d]") {
  const std::vector<float> x = {1, 2, 3, 4, 5, 6,  7, 8, 9, 10, 11, 12};  // 2 planes of 2x3
  std::vector<float> y(x.size() * 4);
  upsample_nearest_2x(x.data(), 2, 2, 3, y.data());
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t row = 0; row < 4; ++row)
      for (int64_t col = 0; col < 6; ++col)
        REQUIRE(y[(p * 4 + row) * 6 + col] == x[(p * 2 + row / 2) * 3 + col / 2]);
}
