// Tests of runtime/kernels matmul and GPTQ against float64 references.
// Tolerance: relative to the sum of |x|·|w| terms, 1e-5 (fp32 accumulation
// over at most a few hundred terms).
#include <catch2/catch.hpp>

#include "random_inputs.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/gptq.h"
#include "runtime/kernels/matmul.h"

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::test::random_floats;

namespace {

// y = x · Wᵀ in double; also the magnitude sum for the tolerance.
void reference_matmul(const std::vector<float>& x, int64_t m, int64_t in, const std::vector<double>& w,
                      int64_t out, std::vector<double>& y, std::vector<double>& magnitude) {
  y.assign(static_cast<size_t>(m * out), 0.0);
  magnitude.assign(y.size(), 0.0);
  for (int64_t t = 0; t < m; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i) {
        const double term = x[static_cast<size_t>(t * in + i)] * w[static_cast<size_t>(o * in + i)];
        y[static_cast<size_t>(t * out + o)] += term;
        magnitude[static_cast<size_t>(t * out + o)] += std::abs(term);
      }
    }
  }
}

void check_close(const std::vector<float>& got, const std::vector<double>& expected,
                 const std::vector<double>& magnitude, double relative) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(std::abs(got[i] - expected[i]) <= relative * magnitude[i] + 1e-6);
  }
}

// The GPTQ format written the plain way: every value shifted into its word.
struct PackedGptq {
  std::vector<int32_t> qweight, qzeros, g_idx;
  std::vector<uint16_t> scales;
  std::vector<double> weight;  // [out, in] reference dequantized weights
};

PackedGptq make_gptq(int bits, int64_t in, int64_t out, int64_t group_size, bool act_order, bool v1,
                     std::mt19937& rng) {
  const int64_t per_word = 32 / bits;
  const int64_t groups = group_size > 0 ? (in + group_size - 1) / group_size : 1;
  const int max_q = (1 << bits) - 1;
  PackedGptq p;
  std::vector<int> q(static_cast<size_t>(in * out)), z(static_cast<size_t>(groups * out));
  std::uniform_int_distribution<int> qdist(0, max_q);
  for (int& v : q) v = qdist(rng);
  // v1 stores zero - 1, so the true zero must be >= 1 there.
  std::uniform_int_distribution<int> zdist(v1 ? 1 : 0, max_q);
  for (int& v : z) v = zdist(rng);
  std::uniform_real_distribution<float> sdist(0.001f, 0.05f);
  p.scales.resize(static_cast<size_t>(groups * out));
  for (auto& s : p.scales) s = float_to_half(sdist(rng));
  p.g_idx.resize(static_cast<size_t>(in));
  for (int64_t i = 0; i < in; ++i) p.g_idx[static_cast<size_t>(i)] = group_size > 0 ? static_cast<int32_t>(i / group_size) : 0;
  if (act_order) std::shuffle(p.g_idx.begin(), p.g_idx.end(), rng);

  p.qweight.assign(static_cast<size_t>(in / per_word * out), 0);
  for (int64_t i = 0; i < in; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      auto& word = p.qweight[static_cast<size_t>((i / per_word) * out + o)];
      word = static_cast<int32_t>(static_cast<uint32_t>(word) |
                                  (static_cast<uint32_t>(q[static_cast<size_t>(i * out + o)]) << ((i % per_word) * bits)));
    }
  }
  p.qzeros.assign(static_cast<size_t>(groups * out / per_word), 0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t o = 0; o < out; ++o) {
      const int stored = z[static_cast<size_t>(g * out + o)] - (v1 ? 1 : 0);
      auto& word = p.qzeros[static_cast<size_t>(g * (out / per_word) + o / per_word)];
      word = static_cast<int32_t>(static_cast<uint32_t>(word) | (static_cast<uint32_t>(stored) << ((o % per_word) * bits)));
    }
  }
  p.weight.resize(static_cast<size_t>(out * in));
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      const int64_t g = p.g_idx[static_cast<size_t>(i)];
      const double s = half_to_float(p.scales[static_cast<size_t>(g * out + o)]);
      p.weight[static_cast<size_t>(o * in + i)] =
          (q[static_cast<size_t>(i * out + o)] - z[static_cast<size_t>(g * out + o)]) * s;
    }
  }
  return p;
}

}  // namespace

TEST_CASE("matmul matches a float64 reference for f32, f16 and bf16 weights", "[runtime]") {
  std::mt19937 rng(1);
  ThreadPool pool(3);
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (auto [m, in, out] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 96}, {5, 128, 70}, {17, 33, 31}}) {
      const auto x = random_floats(static_cast<size_t>(m * in), rng);
      const auto w32 = random_floats(static_cast<size_t>(out * in), rng, 0.1f);
      const auto bias = random_floats(static_cast<size_t>(out), rng);
      std::vector<uint16_t> w16(w32.size());
      std::vector<double> w_exact(w32.size());
      for (size_t i = 0; i < w32.size(); ++i) {
        w16[i] = dtype == DType::f16 ? float_to_half(w32[i]) : float_to_bfloat16(w32[i]);
        w_exact[i] = dtype == DType::f32 ? w32[i] : dtype == DType::f16 ? half_to_float(w16[i]) : bfloat16_to_float(w16[i]);
      }
      std::vector<double> expected, magnitude;
      reference_matmul(x, m, in, w_exact, out, expected, magnitude);
      std::vector<float> y(static_cast<size_t>(m * out));
      const void* w = dtype == DType::f32 ? static_cast<const void*>(w32.data()) : w16.data();
      matmul(pool, x.data(), m, in, w, dtype, out, y.data());
      check_close(y, expected, magnitude, 1e-5);
      matmul(pool, x.data(), m, in, w, dtype, out, y.data(), bias.data());
      for (size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % static_cast<size_t>(out)];
      check_close(y, expected, magnitude, 1e-5);
    }
  }
  std::vector<float> x(4), y(4);
  CHECK_THROWS_AS(matmul(pool, x.data(), 1, 2, x.data(), DType::i8, 2, y.data()), RuntimeError);
}

TEST_CASE("GPTQ dequantization matches an independent unpacking for all variants", "[runtime]") {
  std::mt19937 rng(2);
  struct Case {
    int bits;
    int64_t group_size;
    bool act_order, v1;
  };
  for (const Case& c : {Case{4, 32, false, true}, Case{4, 64, true, true}, Case{4, -1, false, false},
                        Case{4, 32, true, false}, Case{8, 32, false, true}, Case{8, 64, true, false}}) {
    INFO("bits " << c.bits << " group " << c.group_size << " act_order " << c.act_order << " v1 " << c.v1);
    const int64_t in = 128, out = 64;
    const PackedGptq p = make_gptq(c.bits, in, out, c.group_size, c.act_order, c.v1, rng);
    GptqTensors t;
    t.bits = c.bits;
    t.in_features = in;
    t.out_features = out;
    t.group_size = c.group_size;
    t.qweight = p.qweight.data();
    t.qzeros = p.qzeros.data();
    t.scales = p.scales.data();
    t.g_idx = c.act_order ? p.g_idx.data() : nullptr;
    t.zero_format = c.v1 ? GptqZeroFormat::v1 : GptqZeroFormat::v2;
    GptqLinear linear(t, "layers.0.mlp.up_proj");
    const std::vector<float> w = linear.dequantize();
    for (size_t i = 0; i < w.size(); ++i) {
      INFO("element " << i);
      REQUIRE(std::abs(w[i] - p.weight[i]) <= 1e-6 * std::abs(p.weight[i]) + 1e-7);
    }
  }
}

TEST_CASE("GPTQ forward matches x times the reference-dequantized weight", "[runtime]") {
  std::mt19937 rng(3);
  ThreadPool pool(4);
  const int64_t in = 256;
  for (int64_t out : {96, 40}) {  // 40: a last tile narrower than 32 columns
    const PackedGptq p = make_gptq(4, in, out, 64, true, true, rng);
    GptqTensors t;
    t.in_features = in;
    t.out_features = out;
    t.group_size = 64;
    t.qweight = p.qweight.data();
    t.qzeros = p.qzeros.data();
    t.scales = p.scales.data();
    t.g_idx = p.g_idx.data();
    GptqLinear linear(t, "q_proj");
    for (int64_t m : {1, 3, 8}) {  // both the few-token and the tiled path
      INFO("out " << out << " m " << m);
      const auto x = random_floats(static_cast<size_t>(m * in), rng);
      const auto bias = random_floats(static_cast<size_t>(out), rng);
      std::vector<double> expected, magnitude;
      reference_matmul(x, m, in, p.weight, out, expected, magnitude);
      for (size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % static_cast<size_t>(out)];
      std::vector<float> y(static_cast<size_t>(m * out));
      linear.forward(pool, x.data(), m, y.data(), bias.data());
      check_close(y, expected, magnitude, 1e-5);
    }
  }
}

TEST_CASE("GPTQ layers with bad geometry or g_idx fail naming the layer", "[runtime]") {
  std::vector<int32_t> words(64, 0), g_idx(32, 0);
  std::vector<uint16_t> scales(64, float_to_half(1.0f));
  GptqTensors t;
  t.in_features = 32;
  t.out_features = 12;  // not a multiple of 8
  t.group_size = 32;
  t.qweight = words.data();
  t.qzeros = words.data();
  t.scales = scales.data();
  CHECK_THROWS_WITH(GptqLinear(t, "model.layers.3.mlp.down_proj"), Catch::Contains("model.layers.3.mlp.down_proj"));
  t.out_features = 16;
  g_idx[5] = 1;  // only one group exists
  t.g_idx = g_idx.data();
  CHECK_THROWS_WITH(GptqLinear(t, "o_proj"), Catch::Contains("o_proj.g_idx") && Catch::Contains("entry 5"));
  t.g_idx = nullptr;
  t.bits = 3;
  CHECK_THROWS_WITH(GptqLinear(t, "o_proj"), Catch::Contains("3-bit"));
  CHECK(gptq_num_groups(4096, 128) == 32);
  CHECK(gptq_num_groups(4096, -1) == 1);
  CHECK(gptq_num_groups(100, 32) == 4);
}
