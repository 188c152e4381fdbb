// Tests of runtime/kernels/resample. Bit-exactness with Pillow is checked on
// real images by tests/deepseek_ocr (every fixture view, both pass orders);
// here: same-size copies, constants kept, linear ramps reproduced away from
// the borders (a symmetric normalised filter), and the linear 1-D resize.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/kernels/resample.h"

#include <cmath>
#include <cstdint>
#include <vector>

using namespace citadel::runtime;

TEST_CASE("resize_bicubic_u8 copies same-size images and keeps constants", "[runtime]") {
  std::vector<uint8_t> image(7 * 5 * 3);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i * 37 % 251);
  std::vector<uint8_t> out(image.size());
  resize_bicubic_u8(image.data(), 7, 5, 3, out.data(), 7, 5);
  CHECK(out == image);
  const std::vector<uint8_t> grey(40 * 30 * 3, 200);
  for (const auto& [w, h] : {std::pair{13, 9}, std::pair{80, 11}, std::pair{5, 61}}) {
    std::vector<uint8_t> resized(static_cast<size_t>(w * h * 3));
    resize_bicubic_u8(grey.data(), 40, 30, 3, resized.data(), w, h);
    for (uint8_t v : resized) REQUIRE(v == 200);
  }
  CHECK_THROWS_AS(resize_bicubic_u8(grey.data(), 40, 30, 3, out.data(), 0, 3), RuntimeError);
}

TEST_CASE("resize_bicubic_antialias_f32 reproduces linear ramps inside the grid", "[runtime]") {
  // f(x, y) = x + 2y at pixel centres; downscale 32 -> 8 (support 8) and upscale 8 -> 20.
  for (const auto& [from, to] : {std::pair{32, 8}, std::pair{8, 20}}) {
    std::vector<float> grid(static_cast<size_t>(from * from * 2));
    for (int y = 0; y < from; ++y) {
      for (int x = 0; x < from; ++x) {
        grid[static_cast<size_t>((y * from + x) * 2)] = x + 0.5f + 2.0f * (y + 0.5f);
        grid[static_cast<size_t>((y * from + x) * 2 + 1)] = 3.0f;
      }
    }
    std::vector<float> out(static_cast<size_t>(to * to * 2));
    resize_bicubic_antialias_f32(grid.data(), from, from, 2, out.data(), to, to);
    const double scale = static_cast<double>(from) / to, reach = 2.0 * std::max(scale, 1.0);
    for (int y = 0; y < to; ++y) {
      for (int x = 0; x < to; ++x) {
        const double cx = (x + 0.5) * scale, cy = (y + 0.5) * scale;
        REQUIRE(std::abs(out[static_cast<size_t>((y * to + x) * 2 + 1)] - 3.0f) < 1e-5);
        if (cx - reach < 0 || cy - reach < 0 || cx + reach > from || cy + reach > from) continue;
        REQUIRE(std::abs(out[static_cast<size_t>((y * to + x) * 2)] - (cx + 2.0 * cy)) < 1e-4);
      }
    }
  }
}

TEST_CASE("resize_linear_f32 interpolates with align_corners=False", "[runtime]") {
  const std::vector<float> rows = {0.0f, 100.0f, 10.0f, 200.0f};  // [2, 2]
  std::vector<float> out(6);
  resize_linear_f32(rows.data(), 2, 2, out.data(), 3);
  // Source positions: clamp(-1/6) = 0, 0.5, 7/6 -> clamped to the last row.
  CHECK(out == std::vector<float>{0.0f, 100.0f, 5.0f, 150.0f, 10.0f, 200.0f});
}
