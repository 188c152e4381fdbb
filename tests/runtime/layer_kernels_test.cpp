// Tests of the element-wise kernels and RoPE against float64 references.
// Tolerances: 1e-5 relative (+1e-6 absolute; 1e-5 for LayerNorm, whose
// outputs cancel) for norm/activation/softmax;
// RoPE 2e-5 absolute on unit-scale inputs at positions up to 4000 (the f32
// angle rounding HF also has is modelled by the reference).
#include <catch2/catch.hpp>

#include "random_inputs.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/rope.h"

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::test::random_floats;

namespace {

bool close(double got, double expected, double relative = 1e-5, double absolute = 1e-6) {
  return std::abs(got - expected) <= relative * std::abs(expected) + absolute;
}

}  // namespace

TEST_CASE("rms_norm matches float64 per row, also per head (Qwen3 q/k norm) and in place", "[runtime]") {
  std::mt19937 rng(4);
  const int64_t rows = 6, dim = 64;
  auto x = random_floats(static_cast<size_t>(rows * dim), rng, 3.0f);
  const auto weight = random_floats(static_cast<size_t>(dim), rng);
  std::vector<float> y(x.size());
  rms_norm(x.data(), rows, dim, weight.data(), 1e-6f, y.data());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(x[static_cast<size_t>(r * dim + i)]) * x[static_cast<size_t>(r * dim + i)];
    const double inverse = 1.0 / std::sqrt(sum / dim + 1e-6);
    for (int64_t i = 0; i < dim; ++i) {
      const size_t k = static_cast<size_t>(r * dim + i);
      REQUIRE(close(y[k], x[k] * inverse * weight[static_cast<size_t>(i)]));
    }
  }
  rms_norm(x.data(), rows, dim, weight.data(), 1e-6f, x.data());
  CHECK(x == y);
}

TEST_CASE("layer_norm matches float64 with and without bias", "[runtime]") {
  std::mt19937 rng(12);
  const int64_t rows = 4, dim = 96;
  const auto x = random_floats(static_cast<size_t>(rows * dim), rng, 2.0f);
  const auto weight = random_floats(static_cast<size_t>(dim), rng), bias = random_floats(static_cast<size_t>(dim), rng);
  std::vector<float> y(x.size()), y_no_bias(x.size());
  layer_norm(x.data(), rows, dim, weight.data(), bias.data(), 1e-5f, y.data());
  layer_norm(x.data(), rows, dim, weight.data(), nullptr, 1e-5f, y_no_bias.data());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (int64_t i = 0; i < dim; ++i) mean += x[static_cast<size_t>(r * dim + i)];
    mean /= dim;
    for (int64_t i = 0; i < dim; ++i) variance += std::pow(x[static_cast<size_t>(r * dim + i)] - mean, 2);
    const double inverse = 1.0 / std::sqrt(variance / dim + 1e-5);
    for (int64_t i = 0; i < dim; ++i) {
      const size_t k = static_cast<size_t>(r * dim + i);
      const double normed = (x[k] - mean) * inverse * weight[static_cast<size_t>(i)];
      REQUIRE(close(y_no_bias[k], normed, 1e-5, 1e-5));
      REQUIRE(close(y[k], normed + bias[static_cast<size_t>(i)], 1e-5, 1e-5));
    }
  }
}

TEST_CASE("gelu (erf) and gelu_tanh match float64 formulas", "[runtime]") {
  std::mt19937 rng(13);
  const auto x = random_floats(1000, rng, 3.0f);
  std::vector<float> exact(x.size()), approximate(x.size());
  gelu(x.data(), 1000, exact.data());
  gelu_tanh(x.data(), 1000, approximate.data());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    REQUIRE(close(exact[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))));
    REQUIRE(close(approximate[i], 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)))));
  }
}

TEST_CASE("silu_mul, softmax and add match float64", "[runtime]") {
  std::mt19937 rng(5);
  const auto gate = random_floats(1000, rng, 4.0f), up = random_floats(1000, rng);
  std::vector<float> out(1000);
  silu_mul(gate.data(), up.data(), 1000, out.data());
  for (size_t i = 0; i < 1000; ++i) {
    const double g = gate[i];
    REQUIRE(close(out[i], g / (1.0 + std::exp(-g)) * up[i]));
  }
  auto logits = random_floats(3 * 50, rng, 10.0f);
  const auto original = logits;
  softmax(logits.data(), 3, 50);
  for (int r = 0; r < 3; ++r) {
    double max = -1e300, sum = 0;
    for (int i = 0; i < 50; ++i) max = std::max(max, static_cast<double>(original[static_cast<size_t>(r * 50 + i)]));
    for (int i = 0; i < 50; ++i) sum += std::exp(original[static_cast<size_t>(r * 50 + i)] - max);
    for (int i = 0; i < 50; ++i) {
      const size_t k = static_cast<size_t>(r * 50 + i);
      REQUIRE(close(logits[k], std::exp(original[k] - max) / sum));
    }
  }
  std::vector<float> a = {1, 2}, b = {0.5f, -3};
  add_in_place(a.data(), b.data(), 2);
  CHECK(a == std::vector<float>{1.5f, -1});
}

TEST_CASE("embedding_lookup converts rows of f32, f16 and bf16 tables and rejects bad ids", "[runtime]") {
  std::mt19937 rng(6);
  const int64_t vocab = 10, dim = 8;
  const auto table = random_floats(static_cast<size_t>(vocab * dim), rng);
  std::vector<uint16_t> half(table.size()), bf(table.size());
  float_to_half(table.data(), half.data(), table.size());
  float_to_bfloat16(table.data(), bf.data(), table.size());
  const std::vector<int32_t> ids = {3, 0, 9, 3};
  std::vector<float> out(ids.size() * static_cast<size_t>(dim));
  embedding_lookup(table.data(), DType::f32, vocab, dim, ids.data(), 4, out.data());
  CHECK(out[static_cast<size_t>(2 * dim + 1)] == table[static_cast<size_t>(9 * dim + 1)]);
  embedding_lookup(half.data(), DType::f16, vocab, dim, ids.data(), 4, out.data());
  CHECK(out[static_cast<size_t>(3 * dim + 7)] == half_to_float(half[static_cast<size_t>(3 * dim + 7)]));
  embedding_lookup(bf.data(), DType::bf16, vocab, dim, ids.data(), 4, out.data());
  CHECK(out[0] == bfloat16_to_float(bf[static_cast<size_t>(3 * dim)]));
  const int32_t bad = 10;
  CHECK_THROWS_WITH(embedding_lookup(table.data(), DType::f32, vocab, dim, &bad, 1, out.data()),
                    Catch::Contains("token id 10"));
}

TEST_CASE("rope_inv_freq follows HF's default, linear and llama3 formulas", "[runtime]") {
  const int64_t dim = 64;
  const double theta = 500000.0;
  const auto plain = rope_inv_freq(dim, theta, {});
  REQUIRE(plain.size() == 32);
  for (size_t j = 0; j < plain.size(); ++j) {
    REQUIRE(close(plain[j], 1.0 / std::pow(theta, 2.0 * static_cast<double>(j) / dim), 1e-6, 0));
  }
  RopeScaling linear;
  linear.type = RopeScaling::Type::linear;
  linear.factor = 4;
  const auto scaled = rope_inv_freq(dim, theta, linear);
  for (size_t j = 0; j < plain.size(); ++j) REQUIRE(close(scaled[j], plain[j] / 4.0, 1e-6, 0));

  RopeScaling llama3;
  llama3.type = RopeScaling::Type::llama3;
  llama3.factor = 8;
  llama3.low_freq_factor = 1;
  llama3.high_freq_factor = 4;
  llama3.original_max_position_embeddings = 8192;
  const auto l3 = rope_inv_freq(dim, theta, llama3);
  int low = 0, high = 0, medium = 0;
  for (size_t j = 0; j < plain.size(); ++j) {
    const double f = plain[j], wavelen = 2 * std::numbers::pi / f;
    double expected;
    if (wavelen < 8192.0 / 4) {
      expected = f;
      ++high;
    } else if (wavelen > 8192.0 / 1) {
      expected = f / 8;
      ++low;
    } else {
      const double smooth = (8192.0 / wavelen - 1) / (4 - 1);
      expected = (1 - smooth) * f / 8 + smooth * f;
      ++medium;
    }
    REQUIRE(close(l3[j], expected, 1e-6, 0));
  }
  CHECK(low > 0);
  CHECK(high > 0);
  CHECK(medium > 0);
}

TEST_CASE("apply_rope rotates dimension pairs (j, j + d/2) by position * inv_freq", "[runtime]") {
  std::mt19937 rng(7);
  const int64_t tokens = 5, heads = 3, head_dim = 32, rotary = 24;  // partial rotary too
  const auto inv_freq = rope_inv_freq(rotary, 10000.0, {});
  const std::vector<int32_t> positions = {0, 1, 17, 1000, 4000};
  auto x = random_floats(static_cast<size_t>(tokens * heads * head_dim), rng);
  const auto original = x;
  apply_rope(x.data(), tokens, heads, head_dim, positions.data(), inv_freq);
  const int64_t half = rotary / 2;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const size_t base = static_cast<size_t>((t * heads + h) * head_dim);
      for (int64_t j = 0; j < half; ++j) {
        const double angle = static_cast<double>(static_cast<float>(positions[static_cast<size_t>(t)]) * inv_freq[static_cast<size_t>(j)]);
        const double a = original[base + static_cast<size_t>(j)], b = original[base + static_cast<size_t>(j + half)];
        REQUIRE(std::abs(x[base + static_cast<size_t>(j)] - (a * std::cos(angle) - b * std::sin(angle))) < 2e-5);
        REQUIRE(std::abs(x[base + static_cast<size_t>(j + half)] - (b * std::cos(angle) + a * std::sin(angle))) < 2e-5);
      }
      for (int64_t j = rotary; j < head_dim; ++j) REQUIRE(x[base + static_cast<size_t>(j)] == original[base + static_cast<size_t>(j)]);
    }
  }
}
