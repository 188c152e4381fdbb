// [cuda] GPTQ kernels vs the CPU GptqLinear on random layers: GEMV (fast path
// and g_idx fallback) and dequant + cuBLAS GEMM, zero formats v1/v2, group
// sizes 32/128/-1, 4 and 8 bits. Tolerances, relative to the output's largest
// magnitude: 1e-4 for the fp32 GEMV, 1e-2 for the f16 GEMM (weights and
// activations rounded to f16, ~5e-4 each).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/half.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/kernels/gptq.h"

#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

struct RandomGptq {
  std::vector<int32_t> qweight, qzeros, g_idx;
  std::vector<uint16_t> scales;
  GptqTensors tensors;
};

RandomGptq make_layer(int bits, int64_t in, int64_t out, int64_t group_size, bool act_order, GptqZeroFormat format,
                      std::mt19937& rng) {
  RandomGptq layer;
  const int64_t per_word = 32 / bits;
  const int64_t groups = gptq_num_groups(in, group_size);
  std::uniform_int_distribution<uint32_t> word(0, 0xffffffffu);
  std::uniform_real_distribution<float> scale(0.002f, 0.02f);
  layer.qweight.resize(static_cast<size_t>(in / per_word * out));
  for (auto& w : layer.qweight) w = static_cast<int32_t>(word(rng));
  layer.qzeros.resize(static_cast<size_t>(groups * out / per_word));
  for (auto& z : layer.qzeros) z = static_cast<int32_t>(word(rng));
  layer.scales.resize(static_cast<size_t>(groups * out));
  for (auto& s : layer.scales) s = float_to_half(scale(rng));
  if (act_order) {
    std::vector<int32_t> order(static_cast<size_t>(in));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    layer.g_idx.resize(order.size());
    const int64_t size = group_size > 0 ? group_size : in;
    for (size_t i = 0; i < order.size(); ++i) layer.g_idx[i] = static_cast<int32_t>(order[i] / size);
  }
  GptqTensors& t = layer.tensors;
  t.bits = bits;
  t.in_features = in;
  t.out_features = out;
  t.group_size = group_size;
  t.qweight = layer.qweight.data();
  t.qzeros = layer.qzeros.data();
  t.scales = layer.scales.data();
  t.g_idx = act_order ? layer.g_idx.data() : nullptr;
  t.zero_format = format;
  return layer;
}

enum class Path { gemv, forward };  // gptq_gemv for any m, or GptqLinearCuda::forward's choice

// Runs the layer on both backends for m rows and returns the scaled error.
double compare(const RandomGptq& layer, int64_t m, bool with_bias, std::mt19937& rng, Path path = Path::gemv) {
  const GptqTensors& t = layer.tensors;
  ThreadPool pool(2);
  GptqLinear cpu(t, "test.cpu");
  GptqLinearCuda gpu(t, "test.gpu");
  const auto x = random_floats(static_cast<size_t>(m * t.in_features), rng);
  const auto bias = random_floats(static_cast<size_t>(t.out_features), rng, 0.1f);
  std::vector<float> expected(static_cast<size_t>(m * t.out_features));
  cpu.forward(pool, x.data(), m, expected.data(), with_bias ? bias.data() : nullptr);
  CublasContext context;
  DeviceBuffer x_device = to_device(x), bias_device = to_device(bias);
  DeviceBuffer y_device(expected.size() * sizeof(float));
  const float* bias_pointer = with_bias ? bias_device.as<float>() : nullptr;
  if (path == Path::gemv) {
    gptq_gemv(gpu.device_weights(), x_device.as<float>(), m, y_device.as<float>(), bias_pointer, nullptr);
  } else {
    gpu.forward(context, x_device.as<float>(), m, y_device.as<float>(), bias_pointer, nullptr);
  }
  return scaled_max_error(y_device.to_vector<float>(expected.size()), expected);
}

}  // namespace

TEST_CASE("cuda GPTQ int4 GEMV matches the CPU layer for group sizes 32, 128, -1 and both zero formats",
          "[cuda]") {
  std::mt19937 rng(11);
  for (int64_t group_size : {32, 128, -1}) {
    for (auto format : {GptqZeroFormat::v1, GptqZeroFormat::v2}) {
      const auto layer = make_layer(4, 512, 200, group_size, false, format, rng);
      REQUIRE(gptq_gemv_fast_path(GptqLinearCuda(layer.tensors, "probe").device_weights()));
      for (int64_t m : {1, 3, 8, 11, 16}) {
        INFO("group_size " << group_size << ", v" << (format == GptqZeroFormat::v1 ? 1 : 2) << ", m " << m);
        CHECK(compare(layer, m, m % 2 == 1, rng) < 1e-4);
      }
    }
  }
}

TEST_CASE("cuda GPTQ GEMV with act-order g_idx and 8-bit weights matches the CPU layer", "[cuda]") {
  std::mt19937 rng(12);
  for (int bits : {4, 8}) {
    for (bool act_order : {true, false}) {
      for (int64_t group_size : {32, 128}) {
        const auto layer = make_layer(bits, 384, 136, group_size, act_order, GptqZeroFormat::v1, rng);
        const bool fast = gptq_gemv_fast_path(GptqLinearCuda(layer.tensors, "probe").device_weights());
        CHECK(fast == (bits == 4 && !act_order));
        for (int64_t m : {1, 5, 9}) {
          INFO("bits " << bits << ", act_order " << act_order << ", group_size " << group_size << ", m " << m);
          CHECK(compare(layer, m, true, rng) < 1e-4);
        }
      }
    }
  }
}

TEST_CASE("cuda GPTQ prefill (dequantize to f16 + cuBLAS) matches the CPU layer", "[cuda]") {
  std::mt19937 rng(13);
  for (int64_t group_size : {32, 128, -1}) {
    for (bool act_order : {false, true}) {
      for (auto format : {GptqZeroFormat::v1, GptqZeroFormat::v2}) {
        const auto layer = make_layer(4, 512, 264, group_size, act_order, format, rng);
        INFO("group_size " << group_size << ", act_order " << act_order);
        CHECK(compare(layer, 40, true, rng, Path::forward) < 1e-2);
      }
    }
  }
}

TEST_CASE("cuda GPTQ layer forward picks GEMV for few rows and the f16 GEMM for many, both matching the CPU",
          "[cuda]") {
  std::mt19937 rng(16);
  const auto layer = make_layer(4, 256, 128, 128, false, GptqZeroFormat::v2, rng);
  CHECK(compare(layer, GptqLinearCuda::kGemvMaxRows, true, rng, Path::forward) < 1e-4);
  CHECK(compare(layer, GptqLinearCuda::kGemvMaxRows + 1, true, rng, Path::forward) < 1e-2);
}

TEST_CASE("cuda GPTQ dequantization to f16 equals the CPU dequantized weight", "[cuda]") {
  std::mt19937 rng(14);
  const auto layer = make_layer(4, 256, 64, 32, true, GptqZeroFormat::v2, rng);
  GptqLinear cpu(layer.tensors, "test.cpu");
  GptqLinearCuda gpu(layer.tensors, "test.gpu");
  const std::vector<float> expected_out_in = cpu.dequantize();
  DeviceBuffer weight(256 * 64 * sizeof(uint16_t));
  gptq_dequantize_f16(gpu.device_weights(), weight.as<uint16_t>(), nullptr);
  const auto got = weight.to_vector<uint16_t>(256 * 64);
  double worst = 0.0;
  for (int64_t i = 0; i < 256; ++i) {
    for (int64_t o = 0; o < 64; ++o) {
      const float e = expected_out_in[static_cast<size_t>(o * 256 + i)];
      const float g = half_to_float(got[static_cast<size_t>(i * 64 + o)]);
      worst = std::max(worst, std::abs(static_cast<double>(g) - e) / std::max(std::abs(e), 1e-3f));
    }
  }
  CHECK(worst < 1e-3);  // one f16 rounding: 2^-11
}

TEST_CASE("cuda GPTQ layer rejects g_idx entries outside the groups, naming the tensor", "[cuda]") {
  std::mt19937 rng(15);
  auto layer = make_layer(4, 64, 32, 32, true, GptqZeroFormat::v1, rng);
  layer.g_idx[5] = 7;
  CHECK_THROWS_WITH(GptqLinearCuda(layer.tensors, "model.layers.0.mlp.up_proj"),
                    Catch::Contains("model.layers.0.mlp.up_proj.g_idx"));
}
#endif  // CITADEL_HAVE_CUDA
