// Tests of runtime/kernels/conv2d: the im2col + matmul convolution against a
// direct float64 loop over random inputs, for the shapes vision encoders use
// (patchify k=s, 3x3 with padding, stride 2, 1x1), with f32 and bf16 weights.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/tensor.h"
#include "runtime/kernels/conv2d.h"
#include "tests/runtime/random_inputs.h"

#include <cmath>

using namespace citadel::runtime;

namespace {

// y[oy, ox, o] = bias[o] + sum_{c, ky, kx} x[iy, ix, c] * w[o, c, ky, kx], in double.
std::vector<double> direct_conv(const std::vector<float>& x, const Conv2dShape& s, const std::vector<float>& w,
                                const std::vector<float>& bias) {
  std::vector<double> y(static_cast<size_t>(s.out_h() * s.out_w() * s.out_c));
  for (int64_t oy = 0; oy < s.out_h(); ++oy) {
    for (int64_t ox = 0; ox < s.out_w(); ++ox) {
      for (int64_t o = 0; o < s.out_c; ++o) {
        double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(o)];
        for (int64_t c = 0; c < s.in_c; ++c) {
          for (int64_t ky = 0; ky < s.kernel; ++ky) {
            for (int64_t kx = 0; kx < s.kernel; ++kx) {
              const int64_t iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx;
              if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
              acc += static_cast<double>(x[static_cast<size_t>((iy * s.in_w + ix) * s.in_c + c)]) *
                     w[static_cast<size_t>(((o * s.in_c + c) * s.kernel + ky) * s.kernel + kx)];
            }
          }
        }
        y[static_cast<size_t>((oy * s.out_w() + ox) * s.out_c + o)] = acc;
      }
    }
  }
  return y;
}

}  // namespace

TEST_CASE("conv2d_nhwc matches a direct convolution", "[runtime]") {
  std::mt19937 rng(7);
  ThreadPool pool(2);
  const Conv2dShape shapes[] = {
      {32, 32, 3, 8, 16, 16, 0},  // patch embedding
      {9, 7, 5, 6, 3, 1, 1},      // 3x3, padding 1
      {10, 10, 4, 5, 3, 2, 1},    // stride 2 (even input)
      {5, 5, 4, 3, 3, 2, 1},      // stride 2 (odd input: ceil)
      {6, 4, 12, 7, 1, 1, 0},     // 1x1
  };
  for (const Conv2dShape& s : shapes) {
    INFO("kernel " << s.kernel << " stride " << s.stride << " input " << s.in_h << "x" << s.in_w);
    const auto x = test::random_floats(static_cast<size_t>(s.in_h * s.in_w * s.in_c), rng);
    const auto w = test::random_floats(static_cast<size_t>(s.out_c * s.in_c * s.kernel * s.kernel), rng, 0.2f);
    const auto bias = test::random_floats(static_cast<size_t>(s.out_c), rng);
    for (const bool with_bias : {false, true}) {
      const auto expected = direct_conv(x, s, w, with_bias ? bias : std::vector<float>{});
      std::vector<float> y(expected.size());
      conv2d_nhwc(pool, x.data(), s, w.data(), DType::f32, with_bias ? bias.data() : nullptr, y.data());
      for (size_t i = 0; i < y.size(); ++i) REQUIRE(std::abs(y[i] - expected[i]) < 1e-4 * (1.0 + std::abs(expected[i])));
    }
    // bf16 weights: the same result as the f32 weights they round to.
    const Tensor w16 = Tensor::copy_of(DType::f32, {static_cast<int64_t>(w.size())}, w.data()).converted(DType::bf16);
    const Tensor w_rounded = w16.to_f32();
    const auto expected = direct_conv(x, s, std::vector<float>(w_rounded.data_as<float>(), w_rounded.data_as<float>() + w.size()), {});
    std::vector<float> y(expected.size());
    conv2d_nhwc(pool, x.data(), s, w16.data(), DType::bf16, nullptr, y.data());
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(std::abs(y[i] - expected[i]) < 1e-4 * (1.0 + std::abs(expected[i])));
  }
}

TEST_CASE("conv2d_nhwc rejects shapes without an output", "[runtime]") {
  ThreadPool pool(1);
  float x = 0, w = 0, y = 0;
  CHECK_THROWS_AS(conv2d_nhwc(pool, &x, Conv2dShape{2, 2, 1, 1, 3, 1, 0}, &w, DType::f32, nullptr, &y), RuntimeError);
  CHECK_THROWS_AS(conv2d_nhwc(pool, &x, Conv2dShape{2, 2, 1, 1, 1, 0, 0}, &w, DType::f32, nullptr, &y), RuntimeError);
}
