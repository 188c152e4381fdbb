// [cuda] The shared-memory-ring int4 GEMV (int4_gemv_ring.h, Hopper) vs the
// CPU GptqLinear on random layers: every group size (32/64/128/-1), both
// zero formats, sym/asym, act-order, odd column counts (padding columns),
// inputs split over clusters of 1..8 blocks and rings of 2..16 slots (the
// plan depends on the shape and the device: the test prints it), 1..4 rows and more in passes of 4, bias, the
// residual-add epilogue and the fused RMSNorm input through GptqLinearCuda
// (its ring dispatch turned on for the test); plus a layer too short for it
// that GptqLinearCuda must route elsewhere. Tolerance as the
// other f32-exact GEMVs: 1e-4 of the output's largest magnitude.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"
#include "random_gptq.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/cuda/int4_gemv_ring.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/gptq.h"

#include <random>
#include <set>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;
using citadel::runtime::cuda::test::make_gptq_layer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::RandomGptq;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

std::vector<float> cpu_forward(const GptqTensors& t, const std::vector<float>& x, int64_t m, const float* bias) {
  ThreadPool pool(2);
  GptqLinear cpu(t, "cpu");
  std::vector<float> y(static_cast<size_t>(m * t.out_features));
  cpu.forward(pool, x.data(), m, y.data(), bias);
  return y;
}

bool ring_available(const RandomGptq& layer) {
  return int4_gemv_ring_supported(GptqLinearCuda(layer.tensors, "probe").tiled_weights(), 1);
}

// int4_gemv_ring itself on m rows (bias when m is odd) vs the CPU layer.
double ring_error(const RandomGptq& layer, int64_t m, std::mt19937& rng) {
  const GptqTensors& t = layer.tensors;
  GptqLinearCuda gpu(t, "ring");
  const auto x = random_floats(static_cast<size_t>(m * t.in_features), rng);
  const auto bias = random_floats(static_cast<size_t>(t.out_features), rng, 0.1f);
  const bool with_bias = m % 2 == 1;
  const auto expected = cpu_forward(t, x, m, with_bias ? bias.data() : nullptr);
  DeviceBuffer xd = to_device(x), bd = to_device(bias), y(expected.size() * sizeof(float));
  int4_gemv_ring(gpu.tiled_weights(), xd.as<float>(), m, with_bias ? bd.as<float>() : nullptr,
                 LinearEpilogue::single(y.as<float>(), t.out_features), nullptr);
  return scaled_max_error(y.to_vector<float>(expected.size()), expected);
}

// Turns GptqLinearCuda's choice of the ring GEMV on for one scope.
struct RingDispatch {
  bool before = int4_gemv_ring_dispatch();
  RingDispatch() { set_int4_gemv_ring_dispatch(true); }
  ~RingDispatch() { set_int4_gemv_ring_dispatch(before); }
};

}  // namespace

TEST_CASE("cuda int4 ring GEMV matches the CPU layer for every group size, zero format, act-order and 1..9 rows",
          "[cuda]") {
  std::mt19937 rng(61);
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (auto format : {GptqZeroFormat::v1, GptqZeroFormat::v2}) {
      for (bool act_order : {false, true}) {
        const auto layer = make_gptq_layer(4, 640, 200, group_size, act_order, format, rng, group_size == 64);
        if (!ring_available(layer)) {
          WARN("int4_gemv_ring: not a Hopper device, not checked");
          return;
        }
        for (int64_t m : {1, 2, 3, 4, 5, 9}) {
          INFO("group_size " << group_size << ", v" << (format == GptqZeroFormat::v1 ? 1 : 2) << ", act_order "
                             << act_order << ", m " << m);
          CHECK(ring_error(layer, m, rng) < 1e-4);
        }
      }
    }
  }
}

TEST_CASE("cuda int4 ring GEMV splits long inputs over clusters of 1..8 blocks and stays exact to f32 rounding",
          "[cuda]") {
  std::mt19937 rng(62);
  std::set<int> clusters;
  // (in, out): few tiles and long inputs give large clusters and deep rings;
  // many tiles or short inputs give clusters of 1 or 2 and short rings.
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {14336, 256}, {4096, 136}, {2048, 2560}, {2048, 11264}, {1024, 33000}, {256, 600}, {128, 72}};
  for (const auto& [in, out] : shapes) {
    const auto layer = make_gptq_layer(4, in, out, 128, in % 512 == 0, GptqZeroFormat::v2, rng);
    if (!ring_available(layer)) {
      WARN("int4_gemv_ring: not a Hopper device, not checked");
      return;
    }
    const Int4GemvRingPlan plan = int4_gemv_ring_plan(GptqLinearCuda(layer.tensors, "probe").tiled_weights(), 4);
    clusters.insert(plan.cluster);
    for (int64_t m : {1, 4}) {
      INFO("in " << in << ", out " << out << ", cluster " << plan.cluster << ", ring stages " << plan.stages
                 << ", m " << m);
      CHECK(ring_error(layer, m, rng) < 1e-4);
    }
  }
  CHECK(clusters.size() >= 3);  // the shapes above reach several plans
}

TEST_CASE("cuda GptqLinearCuda with the ring GEMV on takes it at 1..4 rows with the add epilogue and the fused "
          "RMSNorm, and routes a layer too short for it elsewhere",
          "[cuda]") {
  std::mt19937 rng(63);
  const auto layer = make_gptq_layer(4, 1024, 328, 128, true, GptqZeroFormat::v1, rng);
  if (!ring_available(layer)) {
    WARN("int4_gemv_ring: not a Hopper device, not checked");
    return;
  }
  const RingDispatch ring_on;
  const GptqTensors& t = layer.tensors;
  GptqLinearCuda gpu(t, "layer");
  CublasContext context;
  const auto weight = random_floats(static_cast<size_t>(t.in_features), rng, 1.0f);
  DeviceBuffer weight_device = to_device(weight);
  for (int64_t m : {1, 2, 3, 4}) {
    INFO("m " << m);
    const auto x = random_floats(static_cast<size_t>(m * t.in_features), rng, 4.0f);
    const auto residual = random_floats(static_cast<size_t>(m * t.out_features), rng);
    auto expected = cpu_forward(t, x, m, nullptr);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += residual[i];
    DeviceBuffer xd = to_device(x), y = to_device(residual);
    gpu.forward(context, xd.as<float>(), m,
                LinearEpilogue::single(y.as<float>(), t.out_features, LinearEpilogue::Kind::add), nullptr);
    CHECK(scaled_max_error(y.to_vector<float>(expected.size()), expected) < 1e-4);

    std::vector<float> normed(x.size());
    rms_norm(x.data(), m, t.in_features, weight.data(), 1e-5f, normed.data());
    const auto expected_normed = cpu_forward(t, normed, m, nullptr);
    DeviceBuffer yn(expected_normed.size() * sizeof(float));
    REQUIRE(gpu.forward_normed(xd.as<float>(), m, RmsNormInput{weight_device.as<float>(), 1e-5f},
                               LinearEpilogue::single(yn.as<float>(), t.out_features), nullptr));
    CHECK(scaled_max_error(yn.to_vector<float>(expected_normed.size()), expected_normed) < 1e-4);
  }
  // 96 inputs are 3 chunks, fewer than the 4 slices of a block: no ring plan.
  const auto short_layer = make_gptq_layer(4, 96, 64, 32, false, GptqZeroFormat::v1, rng);
  GptqLinearCuda short_gpu(short_layer.tensors, "short");
  REQUIRE(short_gpu.tiled());
  CHECK_FALSE(int4_gemv_ring_supported(short_gpu.tiled_weights(), 1));
  const auto x = random_floats(96, rng);
  const auto expected = cpu_forward(short_layer.tensors, x, 1, nullptr);
  DeviceBuffer xd = to_device(x), y(expected.size() * sizeof(float));
  short_gpu.forward(context, xd.as<float>(), 1, y.as<float>(), nullptr, nullptr);
  CHECK(scaled_max_error(y.to_vector<float>(expected.size()), expected) < 1e-4);
}
#endif  // CITADEL_HAVE_CUDA
