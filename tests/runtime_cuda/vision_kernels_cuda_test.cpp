// [cuda] Vision kernels (runtime/cuda/vision_kernels.h) vs their CPU
// counterparts on random inputs: LayerNorm, GELU and quick_gelu, im2col +
// cuBLAS f16 as a convolution vs conv2d_nhwc, window pack / unpack-add, and
// bidirectional attention with and without the 2-D relative-position bias vs
// runtime::dense_attention. Tolerances relative to the output's largest
// magnitude: 1e-5 for f32 kernels (1e-4 LayerNorm and attention: other
// summation orders), exact for the data movement, 3e-3 for the convolution
// (input rounded to f16).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/tensor.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/vision_kernels.h"
#include "runtime/kernels/conv2d.h"
#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/elementwise.h"

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda LayerNorm, GELU and quick_gelu match the CPU", "[cuda]") {
  std::mt19937 rng(31);
  const int64_t rows = 9, dim = 768;
  const auto x = random_floats(static_cast<size_t>(rows * dim), rng, 3.0f);
  const auto w = random_floats(static_cast<size_t>(dim), rng), b = random_floats(static_cast<size_t>(dim), rng);
  std::vector<float> expected(x.size());
  layer_norm(x.data(), rows, dim, w.data(), b.data(), 1e-6f, expected.data());
  DeviceBuffer xd = to_device(x), wd = to_device(w), bd = to_device(b), yd(x.size() * sizeof(float));
  cuda::layer_norm(xd.as<float>(), rows, dim, wd.as<float>(), bd.as<float>(), 1e-6f, yd.as<float>(), nullptr);
  CHECK(scaled_max_error(yd.to_vector<float>(x.size()), expected) < 1e-4);

  gelu(x.data(), static_cast<int64_t>(x.size()), expected.data());
  cuda::gelu(xd.as<float>(), static_cast<int64_t>(x.size()), yd.as<float>(), nullptr);
  CHECK(scaled_max_error(yd.to_vector<float>(x.size()), expected) < 1e-5);
  for (size_t i = 0; i < x.size(); ++i) expected[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
  cuda::quick_gelu(xd.as<float>(), static_cast<int64_t>(x.size()), yd.as<float>(), nullptr);
  CHECK(scaled_max_error(yd.to_vector<float>(x.size()), expected) < 1e-5);
}

TEST_CASE("cuda im2col + f16 GEMM matches conv2d_nhwc", "[cuda]") {
  std::mt19937 rng(32);
  ThreadPool pool(2);
  cuda::CublasContext cublas;
  for (const Conv2dShape s : {Conv2dShape{64, 64, 3, 32, 16, 16, 0}, Conv2dShape{13, 13, 16, 24, 3, 2, 1},
                              Conv2dShape{10, 10, 8, 8, 3, 1, 1}}) {
    INFO("kernel " << s.kernel << " stride " << s.stride);
    const auto x = random_floats(static_cast<size_t>(s.in_h * s.in_w * s.in_c), rng);
    const auto wf = random_floats(static_cast<size_t>(s.out_c * s.in_c * s.kernel * s.kernel), rng, 0.1f);
    const Tensor w16 = Tensor::copy_of(DType::f32, {static_cast<int64_t>(wf.size())}, wf.data()).converted(DType::f16);
    std::vector<float> expected(static_cast<size_t>(s.out_h() * s.out_w() * s.out_c));
    conv2d_nhwc(pool, x.data(), s, w16.data(), DType::f16, nullptr, expected.data());
    const int64_t depth = s.in_c * s.kernel * s.kernel, positions = s.out_h() * s.out_w();
    DeviceBuffer xd = to_device(x), wd = DeviceBuffer::from_host(w16.data(), w16.nbytes());
    DeviceBuffer cols(static_cast<size_t>(positions * depth) * sizeof(float)), yd(expected.size() * sizeof(float));
    cuda::im2col_nhwc(xd.as<float>(), s.in_h, s.in_w, s.in_c, s.kernel, s.stride, s.padding, cols.as<float>(), nullptr);
    cuda::matmul_f16(cublas, cols.as<float>(), positions, depth, wd.as<uint16_t>(), cuda::WeightLayout::out_in, s.out_c,
                     yd.as<float>(), nullptr, nullptr);
    CHECK(scaled_max_error(yd.to_vector<float>(expected.size()), expected) < 3e-3);
  }
}

TEST_CASE("cuda window pack and unpack-add move every grid token exactly once", "[cuda]") {
  std::mt19937 rng(33);
  const int64_t grid = 17, channels = 5, window = 7, per_side = 3, padded = per_side * per_side * window * window;
  const auto x = random_floats(static_cast<size_t>(grid * grid * channels), rng);
  DeviceBuffer xd = to_device(x), packed(static_cast<size_t>(padded * channels) * sizeof(float));
  cuda::window_pack(xd.as<float>(), grid, channels, window, packed.as<float>(), nullptr);
  const auto p = packed.to_vector<float>(static_cast<size_t>(padded * channels));
  for (int64_t w = 0; w < per_side * per_side; ++w) {
    for (int64_t t = 0; t < window * window; ++t) {
      const int64_t y = (w / per_side) * window + t / window, xx = (w % per_side) * window + t % window;
      for (int64_t c = 0; c < channels; ++c) {
        const float want = (y < grid && xx < grid) ? x[static_cast<size_t>((y * grid + xx) * channels + c)] : 0.0f;
        REQUIRE(p[static_cast<size_t>((w * window * window + t) * channels + c)] == want);
      }
    }
  }
  cuda::window_unpack_add(packed.as<float>(), grid, channels, window, xd.as<float>(), nullptr);
  const auto doubled = xd.to_vector<float>(x.size());
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(doubled[i] == 2.0f * x[i]);
}

TEST_CASE("cuda bidirectional attention matches the CPU, with relative positions too", "[cuda]") {
  std::mt19937 rng(34);
  ThreadPool pool(2);
  for (const auto& [seqs, gh, gw, heads, hd] : {std::tuple{4, 14, 14, 2, 64}, std::tuple{1, 20, 20, 3, 16},
                                                 std::tuple{1, 1, 257, 4, 32}}) {
    const int64_t tokens = gh * gw, c = heads * hd;
    INFO("tokens " << tokens << " head_dim " << hd);
    const auto qkv = random_floats(static_cast<size_t>(seqs * tokens * 3 * c), rng);
    const auto th = random_floats(static_cast<size_t>((2 * gh - 1) * hd), rng, 0.3f);
    const auto tw = random_floats(static_cast<size_t>((2 * gw - 1) * hd), rng, 0.3f);
    const RelativePosition2d rel{th.data(), tw.data(), gh, gw};
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    DeviceBuffer qd = to_device(qkv), thd = to_device(th), twd = to_device(tw);
    DeviceBuffer od(static_cast<size_t>(seqs * tokens * c) * sizeof(float));
    for (const bool with_rel : {false, true}) {
      std::vector<float> expected(static_cast<size_t>(seqs * tokens * c));
      dense_attention(pool, qkv.data(), qkv.data() + c, qkv.data() + 2 * c, 3 * c, seqs, tokens, heads, hd, scale,
                      expected.data(), with_rel ? &rel : nullptr);
      const float* q = qd.as<float>();
      cuda::dense_attention(q, q + c, q + 2 * c, 3 * c, seqs, tokens, heads, hd, scale, od.as<float>(),
                            with_rel ? thd.as<float>() : nullptr, with_rel ? twd.as<float>() : nullptr, gh, gw,
                            nullptr);
      CHECK(scaled_max_error(od.to_vector<float>(expected.size()), expected) < 1e-4);
    }
  }
}
#endif  // CITADEL_HAVE_CUDA
