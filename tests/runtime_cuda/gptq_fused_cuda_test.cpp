// [cuda] fused GPTQ layers and linear epilogues vs the CPU GptqLinear run
// part by part: q/k/v concatenated with a three-way store (with biases),
// gate/up with the SiLU·mul epilogue, and the residual-add epilogue, for
// GEMV rows (1..8), tensor-core GEMM rows (9..64) and the dequantize +
// cuBLAS path (70 rows),
// plain and act-order layers (the parts sharing one g_idx, as GPTQ gives
// layers that read the same input). Outputs are poisoned with NaN first.
// Tolerances as gptq_cuda_test.cpp: 1e-4 GEMV, 1e-2 f16 GEMM.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"
#include "random_gptq.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/gptq.h"

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;
using citadel::runtime::cuda::test::make_gptq_layer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::RandomGptq;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

DeviceBuffer poisoned(size_t floats) {
  DeviceBuffer buffer(floats * sizeof(float));
  const std::vector<float> nan(floats, NAN);
  buffer.upload(nan.data(), floats * sizeof(float));
  return buffer;
}

std::vector<float> cpu_forward(const RandomGptq& layer, const std::vector<float>& x, int64_t m, const float* bias) {
  ThreadPool pool(2);
  GptqLinear cpu(layer.tensors, "cpu");
  std::vector<float> y(static_cast<size_t>(m * layer.tensors.out_features));
  cpu.forward(pool, x.data(), m, y.data(), bias);
  return y;
}

// Every layer here has in_features % 64 == 0: f32-exact up to kTensorCoreMaxRows rows.
double tolerance(int64_t m) { return m <= GptqLinearCuda::kTensorCoreMaxRows ? 1e-4 : 1e-2; }

}  // namespace

TEST_CASE("cuda fused q/k/v GPTQ layer stores each part where the CPU layers put it", "[cuda]") {
  std::mt19937 rng(51);
  for (bool act_order : {false, true}) {
    const int64_t in = 256, group = 64;
    const RandomGptq q = make_gptq_layer(4, in, 256, group, act_order, GptqZeroFormat::v2, rng);
    const std::vector<int32_t>* shared = act_order ? &q.g_idx : nullptr;
    const RandomGptq k = make_gptq_layer(4, in, 64, group, act_order, GptqZeroFormat::v2, rng, false, shared);
    const RandomGptq v = make_gptq_layer(4, in, 64, group, act_order, GptqZeroFormat::v2, rng, false, shared);
    const std::vector<const RandomGptq*> parts = {&q, &k, &v};
    std::vector<std::vector<float>> biases;
    std::vector<const GptqTensors*> tensors;
    std::vector<const float*> bias_pointers;
    for (const RandomGptq* part : parts) {
      biases.push_back(random_floats(static_cast<size_t>(part->tensors.out_features), rng, 0.1f));
      tensors.push_back(&part->tensors);
    }
    for (const auto& b : biases) bias_pointers.push_back(b.data());
    REQUIRE(GptqLinearCuda::can_fuse(tensors, GptqLinearCuda::Fusion::concat));
    GptqLinearCuda fused(tensors, bias_pointers, GptqLinearCuda::Fusion::concat, "qkv");
    CublasContext context;
    for (int64_t m : {1, 5, 16, 40, 70}) {
      const auto x = random_floats(static_cast<size_t>(m * in), rng);
      DeviceBuffer xd = to_device(x);
      std::vector<DeviceBuffer> outs;
      LinearEpilogue e;
      e.segments = 3;
      int64_t begin = 0;
      for (int s = 0; s < 3; ++s) {
        const int64_t width = parts[static_cast<size_t>(s)]->tensors.out_features;
        outs.push_back(poisoned(static_cast<size_t>(m * width)));
        e.segment_begin[s] = begin;
        e.out[s] = outs.back().as<float>();
        begin += width;
      }
      e.segment_begin[3] = begin;
      fused.forward(context, xd.as<float>(), m, e, nullptr);
      for (size_t s = 0; s < 3; ++s) {
        const auto expected = cpu_forward(*parts[s], x, m, biases[s].data());
        INFO("act_order " << act_order << ", m " << m << ", part " << s);
        CHECK(scaled_max_error(outs[s].to_vector<float>(expected.size()), expected) < tolerance(m));
      }
    }
  }
}

TEST_CASE("cuda fused gate/up GPTQ layer gives silu(gate) * up as the CPU layers and silu_mul", "[cuda]") {
  std::mt19937 rng(52);
  for (bool act_order : {false, true}) {
    const int64_t in = 320, ffn = 192, group = 32;
    const RandomGptq gate = make_gptq_layer(4, in, ffn, group, act_order, GptqZeroFormat::v1, rng, true);
    const RandomGptq up =
        make_gptq_layer(4, in, ffn, group, act_order, GptqZeroFormat::v1, rng, true, act_order ? &gate.g_idx : nullptr);
    const std::vector<const GptqTensors*> tensors = {&gate.tensors, &up.tensors};
    const std::vector<const float*> no_bias = {nullptr, nullptr};
    REQUIRE(GptqLinearCuda::can_fuse(tensors, GptqLinearCuda::Fusion::gate_up));
    GptqLinearCuda fused(tensors, no_bias, GptqLinearCuda::Fusion::gate_up, "gate_up");
    CublasContext context;
    for (int64_t m : {1, 8, 9, 40, 70}) {
      const auto x = random_floats(static_cast<size_t>(m * in), rng);
      const auto g = cpu_forward(gate, x, m, nullptr), u = cpu_forward(up, x, m, nullptr);
      std::vector<float> expected(g.size());
      silu_mul(g.data(), u.data(), static_cast<int64_t>(g.size()), expected.data());
      DeviceBuffer xd = to_device(x), out = poisoned(expected.size());
      LinearEpilogue e = LinearEpilogue::single(out.as<float>(), 2 * ffn);
      e.kind = LinearEpilogue::Kind::silu_mul;
      fused.forward(context, xd.as<float>(), m, e, nullptr);
      INFO("act_order " << act_order << ", m " << m);
      CHECK(scaled_max_error(out.to_vector<float>(expected.size()), expected) < tolerance(m));
    }
  }
  // Different act-order permutations do not fuse.
  const RandomGptq a = make_gptq_layer(4, 128, 64, 32, true, GptqZeroFormat::v1, rng);
  const RandomGptq b = make_gptq_layer(4, 128, 64, 32, true, GptqZeroFormat::v1, rng);
  const std::vector<const GptqTensors*> mismatched = {&a.tensors, &b.tensors};
  CHECK_FALSE(GptqLinearCuda::can_fuse(mismatched, GptqLinearCuda::Fusion::gate_up));
}

TEST_CASE("cuda GPTQ residual-add epilogue adds the layer's output to y", "[cuda]") {
  std::mt19937 rng(53);
  const RandomGptq layer = make_gptq_layer(4, 512, 136, 128, true, GptqZeroFormat::v2, rng);
  GptqLinearCuda gpu(layer.tensors, "down");
  CublasContext context;
  for (int64_t m : {1, 7, 16, 40, 70}) {
    const auto x = random_floats(static_cast<size_t>(m * 512), rng);
    const auto residual = random_floats(static_cast<size_t>(m * 136), rng);
    auto expected = cpu_forward(layer, x, m, nullptr);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += residual[i];
    DeviceBuffer xd = to_device(x), y = to_device(residual);
    gpu.forward(context, xd.as<float>(), m, LinearEpilogue::single(y.as<float>(), 136, LinearEpilogue::Kind::add),
                nullptr);
    INFO("m " << m);
    CHECK(scaled_max_error(y.to_vector<float>(expected.size()), expected) < tolerance(m));
  }
}
#endif  // CITADEL_HAVE_CUDA
