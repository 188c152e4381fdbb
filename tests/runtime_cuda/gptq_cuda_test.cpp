// [cuda] GPTQ kernels vs the CPU GptqLinear on random layers: the tiled int4
// GEMV (act-order through the input permutation), the GPTQ-packed fallback
// (8 bits, groups that split a chunk) and dequant + cuBLAS GEMM, zero formats
// v1/v2, sym/asym, group sizes 32/64/128/-1. Tolerances, relative to the output's largest
// magnitude: 1e-4 for the fp32 GEMV, 1e-2 for the f16 GEMM (weights and
// activations rounded to f16, ~5e-4 each).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"
#include "random_gptq.h"

#include "runtime/core/half.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/gptq_linear_cuda.h"
#include "runtime/cuda/int4_gemv.h"
#include "runtime/cuda/int4_gemv_tc.h"
#include "runtime/cuda/int4_mma.h"
#include "runtime/cuda/int4_wgmma.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/gptq.h"

#include <cuda_runtime.h>

#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

using citadel::runtime::cuda::test::RandomGptq;

RandomGptq make_layer(int bits, int64_t in, int64_t out, int64_t group_size, bool act_order, GptqZeroFormat format,
                      std::mt19937& rng, bool symmetric = false) {
  return citadel::runtime::cuda::test::make_gptq_layer(bits, in, out, group_size, act_order, format, rng, symmetric);
}

// The GEMV kernels for any m, the tensor-core GEMM (f32-exact or with f16
// activations) or GEMV for any m, or GptqLinearCuda::forward's choice.
enum class Path { gemv, mma, mma_f16, tc, forward };

// Runs the layer on both backends for m rows and returns the scaled error.
double compare(const RandomGptq& layer, int64_t m, bool with_bias, std::mt19937& rng, Path path = Path::gemv) {
  const GptqTensors& t = layer.tensors;
  ThreadPool pool(2);
  GptqLinear cpu(t, "test.cpu");
  GptqLinearCuda gpu(t, "test.gpu");
  auto x = random_floats(static_cast<size_t>(m * t.in_features), rng);
  if (path == Path::mma_f16) {
    for (float& value : x) value = half_to_float(float_to_half(value));
  }
  const auto bias = random_floats(static_cast<size_t>(t.out_features), rng, 0.1f);
  std::vector<float> expected(static_cast<size_t>(m * t.out_features));
  cpu.forward(pool, x.data(), m, expected.data(), with_bias ? bias.data() : nullptr);
  CublasContext context;
  DeviceBuffer x_device = to_device(x), bias_device = to_device(bias);
  DeviceBuffer y_device(expected.size() * sizeof(float));
  const float* bias_pointer = with_bias ? bias_device.as<float>() : nullptr;
  if (path == Path::gemv && !gpu.tiled()) {
    gptq_gemv(gpu.device_weights(), x_device.as<float>(), m, y_device.as<float>(), bias_pointer, nullptr);
  } else if (path == Path::gemv) {
    // The tiled GEMV in passes of up to 8 rows, whatever m.
    const Int4GemvScratchSize size = int4_gemv_scratch_size(gpu.tiled_weights(), m);
    int4_gemv(gpu.tiled_weights(), x_device.as<float>(), m, bias_pointer,
              LinearEpilogue::single(y_device.as<float>(), t.out_features), context.gemv_partials(size.partial_floats),
              context.gemv_counters(size.counters), nullptr);
  } else if (path == Path::mma || path == Path::mma_f16) {
    const auto activations = path == Path::mma ? Int4MmaActivations::f32_exact : Int4MmaActivations::f16;
    int4_mma(gpu.tiled_weights(), x_device.as<float>(), m, bias_pointer,
             LinearEpilogue::single(y_device.as<float>(), t.out_features),
             context.activation_scratch(int4_mma_scratch_halves(gpu.tiled_weights(), activations)), nullptr,
             activations);
  } else if (path == Path::tc) {
    int4_gemv_tc(gpu.tiled_weights(), x_device.as<float>(), m, bias_pointer,
                 LinearEpilogue::single(y_device.as<float>(), t.out_features), nullptr);
  } else {
    gpu.forward(context, x_device.as<float>(), m, y_device.as<float>(), bias_pointer, nullptr);
  }
  return scaled_max_error(y_device.to_vector<float>(expected.size()), expected);
}

}  // namespace

TEST_CASE("cuda tiled int4 GEMV matches the CPU layer for group sizes 32/64/128/-1, sym/asym, both zero formats and "
          "act-order",
          "[cuda]") {
  std::mt19937 rng(11);
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (auto format : {GptqZeroFormat::v1, GptqZeroFormat::v2}) {
      for (bool symmetric : {false, true}) {
        for (bool act_order : {false, true}) {
          const auto layer = make_layer(4, 512, 200, group_size, act_order, format, rng, symmetric);
          REQUIRE(GptqLinearCuda(layer.tensors, "probe").tiled());
          for (int64_t m : {1, 3, 8, 11, 16}) {
            INFO("group_size " << group_size << ", v" << (format == GptqZeroFormat::v1 ? 1 : 2) << ", symmetric "
                               << symmetric << ", act_order " << act_order << ", m " << m);
            CHECK(compare(layer, m, m % 2 == 1, rng) < 1e-4);
          }
        }
      }
    }
  }
}

TEST_CASE("cuda tiled int4 GEMV splits K over many blocks on a wide input and stays exact to f32 rounding", "[cuda]") {
  std::mt19937 rng(17);
  const auto layer = make_layer(4, 8192, 384, 128, true, GptqZeroFormat::v2, rng);
  for (int64_t m : {1, 4, 8}) {
    INFO("m " << m);
    CHECK(compare(layer, m, true, rng) < 1e-4);
  }
}

TEST_CASE("cuda tensor-core int4 GEMM matches the CPU layer to f32 rounding for 1..70 rows", "[cuda]") {
  std::mt19937 rng(18);
  const bool chosen_wgmma = int4_mma_wgmma();
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (bool act_order : {false, true}) {
      const auto layer = make_layer(4, 640, 264, group_size, act_order, GptqZeroFormat::v1, rng, group_size == 64);
      REQUIRE(int4_mma_supported(GptqLinearCuda(layer.tensors, "probe").tiled_weights()));
      for (int64_t m : {1, 9, 24, 32, 40, 70}) {
        for (bool wgmma : {false, true}) {  // mma.sync, and wgmma where the device has it
          INFO("group_size " << group_size << ", act_order " << act_order << ", m " << m << ", wgmma " << wgmma);
          int4_mma_set_wgmma(wgmma);
          CHECK(compare(layer, m, m % 2 == 0, rng, Path::mma) < 1e-4);
        }
      }
    }
  }
  int4_mma_set_wgmma(chosen_wgmma);
}

// With f16 activations the kernel rounds x and each scaled weight (q - z) * s
// to f16 once, as dequantize + cuBLAS does: the reference gets the same x, and
// the weight rounding (2^-11 relative each) leaves ~1e-4 of the largest output.
TEST_CASE("cuda tensor-core int4 GEMM with f16 activations matches the CPU layer on f16-rounded inputs, 1..130 rows, "
          "every group size and act-order",
          "[cuda]") {
  std::mt19937 rng(21);
  const bool chosen_wgmma = int4_mma_wgmma();
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (bool act_order : {false, true}) {
      const auto layer = make_layer(4, 640, 264, group_size, act_order, GptqZeroFormat::v2, rng, group_size == 32);
      for (int64_t m : {1, 9, 17, 33, 64, 65, 130}) {
        // Both kernels of the f16 mode: mma.sync, and wgmma where the device has it.
        for (bool wgmma : {false, true}) {
          INFO("group_size " << group_size << ", act_order " << act_order << ", m " << m << ", wgmma " << wgmma);
          int4_mma_set_wgmma(wgmma);
          CHECK(compare(layer, m, m % 2 == 1, rng, Path::mma_f16) < 2e-3);
        }
      }
    }
  }
  // A wide input split over several blocks per column tile.
  const auto wide = make_layer(4, 8192, 384, 128, true, GptqZeroFormat::v1, rng);
  for (bool wgmma : {false, true}) {
    int4_mma_set_wgmma(wgmma);
    CHECK(compare(wide, 64, true, rng, Path::mma_f16) < 2e-3);
  }
  int4_mma_set_wgmma(chosen_wgmma);
}

// The wgmma kernel rounds what the mma.sync kernel rounds in either mode;
// only the order of the f32 sums differs, so both agree far inside the
// modes' tolerances, for every row tile (8, 16, 32, 64 rows), several passes
// and inputs split over a cluster.
TEST_CASE("cuda int4 GEMM: the wgmma kernel (sm_90a) agrees with the mma.sync kernel in both modes", "[cuda]") {
  std::mt19937 rng(23);
  const bool chosen_wgmma = int4_mma_wgmma();
  const auto narrow = make_layer(4, 640, 264, 32, true, GptqZeroFormat::v2, rng);
  const auto wide = make_layer(4, 8192, 384, 128, false, GptqZeroFormat::v1, rng);
  if (!int4_wgmma_available()) {
    WARN("int4_wgmma: not an sm_90a device, not checked");
    return;
  }
  CublasContext context;
  for (const RandomGptq* layer : {&narrow, &wide}) {
    GptqLinearCuda gpu(layer->tensors, "test.gpu");
    const int64_t in = layer->tensors.in_features, out = layer->tensors.out_features;
    for (int64_t m : {1, 8, 13, 16, 31, 32, 50, 64, 100}) {
      INFO("in " << in << ", m " << m);
      DeviceBuffer x = to_device(random_floats(static_cast<size_t>(m * in), rng));
      const size_t outputs = static_cast<size_t>(m * out);
      DeviceBuffer y(outputs * sizeof(float));
      for (const auto activations : {Int4MmaActivations::f16, Int4MmaActivations::f32_exact}) {
        auto run = [&](bool wgmma) {
          int4_mma_set_wgmma(wgmma);
          int4_mma(gpu.tiled_weights(), x.as<float>(), m, nullptr, LinearEpilogue::single(y.as<float>(), out),
                   context.activation_scratch(int4_mma_scratch_halves(gpu.tiled_weights(), activations)), nullptr,
                   activations);
          return y.to_vector<float>(outputs);
        };
        const std::vector<float> sync = run(false);
        const std::vector<float> warpgroup = run(true);
        INFO("f32-exact " << (activations == Int4MmaActivations::f32_exact));
        CHECK(scaled_max_error(warpgroup, sync) < 1e-5);
      }
    }
  }
  int4_mma_set_wgmma(chosen_wgmma);
}

// A kernel's opt-in to more than 48 KB of shared memory holds for one device
// only (shared_memory_opt_in.h): a layer on a second GPU after one on the
// first (replicas, several models) must run and give the same result. Before
// the opt-in was per device, the second GPU's launches failed with "invalid
// argument" (nvidia-h200-x2, bench/README.md "Replicas on two GPUs"). The
// wgmma GEMM (52 KB at 64 rows) and, on Hopper, the tensor-core GEMV.
TEST_CASE("cuda int4 kernels past 48 KB of shared memory run on a second device after the first", "[cuda]") {
  int devices = 0;
  REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess);
  if (devices < 2) {
    WARN("one CUDA device: not checked");
    return;
  }
  std::mt19937 rng(29);
  const int64_t in = 4096, out = 512;
  const auto layer = make_layer(4, in, out, 128, false, GptqZeroFormat::v1, rng);
  const auto x = random_floats(static_cast<size_t>(40 * in), rng);
  const bool chosen_wgmma = int4_mma_wgmma();
  int4_mma_set_wgmma(true);
  auto run_on = [&](int device, int64_t m) {
    REQUIRE(cudaSetDevice(device) == cudaSuccess);
    std::vector<float> y;
    {  // every device object is made and freed while its device is current
      GptqLinearCuda gpu(layer.tensors, "test.gpu");
      CublasContext context;
      DeviceBuffer x_device = to_device(x);
      DeviceBuffer y_device(static_cast<size_t>(m * out) * sizeof(float));
      gpu.forward(context, x_device.as<float>(), m, y_device.as<float>(), nullptr, nullptr);
      y = y_device.to_vector<float>(static_cast<size_t>(m * out));
    }
    return y;
  };
  for (int64_t m : {1, 40}) {
    INFO("m " << m);
    const std::vector<float> first = run_on(0, m);
    const std::vector<float> second = run_on(1, m);
    CHECK(first == second);
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  int4_mma_set_wgmma(chosen_wgmma);
}

TEST_CASE("cuda tensor-core int4 GEMV (Hopper) matches the CPU layer to f32 rounding for 1..40 rows, every group "
          "size, act-order, and inputs split over a cluster",
          "[cuda]") {
  std::mt19937 rng(19);
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (bool act_order : {false, true}) {
      const auto layer = make_layer(4, 512, 200, group_size, act_order, GptqZeroFormat::v1, rng, group_size == 64);
      if (!int4_gemv_tc_supported(GptqLinearCuda(layer.tensors, "probe").tiled_weights(), 1)) {
        WARN("int4_gemv_tc: not a Hopper device, not checked");
        return;
      }
      for (int64_t m : {1, 2, 3, 4, 5, 8, 11, 16, 17, 40}) {
        INFO("group_size " << group_size << ", act_order " << act_order << ", m " << m);
        CHECK(compare(layer, m, m % 2 == 1, rng, Path::tc) < 1e-4);
      }
    }
  }
  // Long inputs: 8 blocks of a cluster per tile; few columns.
  const auto wide = make_layer(4, 14336, 256, 128, true, GptqZeroFormat::v2, rng);
  for (int64_t m : {1, 4, 9}) {
    INFO("wide, m " << m);
    CHECK(compare(wide, m, true, rng, Path::tc) < 1e-4);
  }
}

TEST_CASE("cuda tensor-core int4 GEMV with the RMSNorm of its input fused matches rms_norm then the CPU layer",
          "[cuda]") {
  std::mt19937 rng(20);
  for (bool act_order : {false, true}) {
    const auto layer = make_layer(4, 1024, 384, 128, act_order, GptqZeroFormat::v2, rng);
    const GptqTensors& t = layer.tensors;
    GptqLinearCuda gpu(t, "test.gpu");
    GptqLinear cpu(t, "test.cpu");
    ThreadPool pool(2);
    CublasContext context;
    const auto weight = random_floats(static_cast<size_t>(t.in_features), rng, 1.0f);
    DeviceBuffer weight_device = to_device(weight);
    // By default forward() gives 8..16 rows to the tensor-core GEMM and
    // forward_normed declines them; with the GEMM from 17 rows the fused
    // GEMV takes them.
    for (const int64_t exact_from : {GptqLinearCuda::kDefaultInt4MmaExactMinRows, int64_t{17}}) {
      for (int64_t m : {1, 3, 6, 8, 9, 16, 17}) {
        INFO("act_order " << act_order << ", GEMM from " << exact_from << " rows, m " << m);
        auto x = random_floats(static_cast<size_t>(m * t.in_features), rng, 4.0f);
        std::vector<float> normed(x.size()), expected(static_cast<size_t>(m * t.out_features));
        citadel::runtime::rms_norm(x.data(), m, t.in_features, weight.data(), 1e-5f, normed.data());
        cpu.forward(pool, normed.data(), m, expected.data(), nullptr);
        DeviceBuffer x_device = to_device(x), y_device(expected.size() * sizeof(float));
        GptqLinearCuda::set_int4_mma_exact_min_rows(exact_from);
        const bool fused = gpu.forward_normed(x_device.as<float>(), m, RmsNormInput{weight_device.as<float>(), 1e-5f},
                                              LinearEpilogue::single(y_device.as<float>(), t.out_features), nullptr);
        GptqLinearCuda::set_int4_mma_exact_min_rows(GptqLinearCuda::kDefaultInt4MmaExactMinRows);
        const bool gemm_rows = int4_mma_supported(gpu.tiled_weights()) && m >= exact_from;
        if (!int4_gemv_tc_supported(gpu.tiled_weights(), m) || m > GptqLinearCuda::kTensorCoreGemvMaxRows ||
            gemm_rows) {
          CHECK_FALSE(fused);
          continue;
        }
        REQUIRE(fused);
        CHECK(scaled_max_error(y_device.to_vector<float>(expected.size()), expected) < 1e-4);
      }
    }
  }
}

TEST_CASE("cuda GPTQ GEMV with 8-bit weights or groups that split a 32-input chunk matches the CPU layer", "[cuda]") {
  std::mt19937 rng(12);
  for (bool act_order : {true, false}) {
    for (int64_t group_size : {32, 128}) {
      const auto layer = make_layer(8, 384, 136, group_size, act_order, GptqZeroFormat::v1, rng);
      CHECK_FALSE(GptqLinearCuda(layer.tensors, "probe").tiled());
      for (int64_t m : {1, 5, 9}) {
        INFO("act_order " << act_order << ", group_size " << group_size << ", m " << m);
        CHECK(compare(layer, m, true, rng) < 1e-4);
      }
    }
  }
  const auto odd = make_layer(4, 256, 64, 16, false, GptqZeroFormat::v1, rng);
  CHECK_FALSE(GptqLinearCuda(odd.tensors, "probe").tiled());
  CHECK(compare(odd, 3, true, rng) < 1e-4);
}

TEST_CASE("cuda GPTQ prefill (dequantize to f16 + cuBLAS) matches the CPU layer", "[cuda]") {
  std::mt19937 rng(13);
  for (int64_t group_size : {32, 64, 128, -1}) {
    for (bool act_order : {false, true}) {
      for (auto format : {GptqZeroFormat::v1, GptqZeroFormat::v2}) {
        const auto layer = make_layer(4, 512, 264, group_size, act_order, format, rng);
        INFO("group_size " << group_size << ", act_order " << act_order);
        CHECK(compare(layer, 40, true, rng, Path::forward) < 1e-2);
      }
    }
  }
}

TEST_CASE("cuda GPTQ layer forward: GEMV, tensor-core GEMM and f16 GEMM all match the CPU", "[cuda]") {
  std::mt19937 rng(16);
  const auto layer = make_layer(4, 256, 328, 128, true, GptqZeroFormat::v2, rng);
  REQUIRE(GptqLinearCuda(layer.tensors, "probe").exact_max_rows() == GptqLinearCuda::kTensorCoreMaxRows);
  for (int64_t m : {GptqLinearCuda::kGemvMaxRows, GptqLinearCuda::kGemvMaxRows + 1, int64_t{17},
                    GptqLinearCuda::kTensorCoreMaxRows}) {
    INFO("m " << m);
    CHECK(compare(layer, m, true, rng, Path::forward) < 1e-4);
  }
  CHECK(compare(layer, GptqLinearCuda::kTensorCoreMaxRows + 1, true, rng, Path::forward) < 1e-2);
  // Past the f32-exact rows: the GEMM with f16 activations (default up to 64 rows), then dequantize + cuBLAS.
  REQUIRE(GptqLinearCuda::int4_mma_f16_max_rows() == GptqLinearCuda::kDefaultInt4MmaF16MaxRows);
  CHECK(compare(layer, GptqLinearCuda::kDefaultInt4MmaF16MaxRows, true, rng, Path::forward) < 1e-2);
  CHECK(compare(layer, GptqLinearCuda::kDefaultInt4MmaF16MaxRows + 1, true, rng, Path::forward) < 1e-2);
  // An input size that is not a multiple of 64: GEMV passes up to 16 rows, then f16 GEMM.
  const auto narrow = make_layer(4, 96, 64, 32, false, GptqZeroFormat::v1, rng);
  REQUIRE(GptqLinearCuda(narrow.tensors, "probe").exact_max_rows() == GptqLinearCuda::kPackedGemvMaxRows);
  CHECK(compare(narrow, 16, true, rng, Path::forward) < 1e-4);
  CHECK(compare(narrow, 17, true, rng, Path::forward) < 1e-2);
}

TEST_CASE("cuda GPTQ layer forward takes the f16-activation GEMM from int4_mma_f16_min_rows on", "[cuda]") {
  std::mt19937 rng(22);
  const auto layer = make_layer(4, 512, 264, 128, true, GptqZeroFormat::v2, rng);
  GptqLinearCuda gpu(layer.tensors, "test.gpu");
  REQUIRE(int4_mma_supported(gpu.tiled_weights()));
  CublasContext context;
  const int64_t m = 12;
  DeviceBuffer x = to_device(random_floats(static_cast<size_t>(m * 512), rng));
  const size_t outputs = static_cast<size_t>(m * 264);
  DeviceBuffer y(outputs * sizeof(float));
  auto forward = [&] {
    gpu.forward(context, x.as<float>(), m, y.as<float>(), nullptr, nullptr);
    return y.to_vector<float>(outputs);
  };
  auto f16_gemm = [&] {
    int4_mma(gpu.tiled_weights(), x.as<float>(), m, nullptr, LinearEpilogue::single(y.as<float>(), 264),
             context.activation_scratch(int4_mma_scratch_halves(gpu.tiled_weights(), Int4MmaActivations::f16)),
             nullptr, Int4MmaActivations::f16);
    return y.to_vector<float>(outputs);
  };
  const std::vector<float> exact = forward();  // default: 12 rows stay f32-exact
  const std::vector<float> rounded = f16_gemm();
  REQUIRE(exact != rounded);  // f16 rounding of x and the weights shows in random data
  GptqLinearCuda::set_int4_mma_f16_min_rows(9);
  CHECK(gpu.exact_max_rows() == 8);
  CHECK(forward() == rounded);
  GptqLinearCuda::set_int4_mma_f16_min_rows(13);
  CHECK(forward() == exact);
  GptqLinearCuda::set_int4_mma_f16_min_rows(GptqLinearCuda::kDefaultInt4MmaF16MinRows);
  CHECK(gpu.exact_max_rows() == GptqLinearCuda::kTensorCoreMaxRows);
}

static double dequant_error(const std::vector<float>& expected_out_in, const std::vector<uint16_t>& got_in_out, int64_t in,
                     int64_t out) {
  double worst = 0.0;
  for (int64_t i = 0; i < in; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      const float e = expected_out_in[static_cast<size_t>(o * in + i)];
      const float g = half_to_float(got_in_out[static_cast<size_t>(i * out + o)]);
      worst = std::max(worst, std::abs(static_cast<double>(g) - e) / std::max(std::abs(e), 1e-3f));
    }
  }
  return worst;
}

TEST_CASE("cuda GPTQ dequantization to f16 equals the CPU dequantized weight (GPTQ packing and tiled layout)",
          "[cuda]") {
  std::mt19937 rng(14);
  const auto packed = make_layer(8, 256, 64, 32, true, GptqZeroFormat::v2, rng);
  GptqLinearCuda packed_gpu(packed.tensors, "test.gpu");
  REQUIRE_FALSE(packed_gpu.tiled());
  DeviceBuffer weight(256 * 64 * sizeof(uint16_t));
  gptq_dequantize_f16(packed_gpu.device_weights(), weight.as<uint16_t>(), nullptr);
  CHECK(dequant_error(GptqLinear(packed.tensors, "cpu").dequantize(), weight.to_vector<uint16_t>(256 * 64), 256, 64) <
        1e-3);  // one f16 rounding: 2^-11

  const auto tiled = make_layer(4, 256, 200, 64, false, GptqZeroFormat::v1, rng);
  GptqLinearCuda tiled_gpu(tiled.tensors, "test.gpu");
  REQUIRE(tiled_gpu.tiled());
  DeviceBuffer tiled_weight(256 * 200 * sizeof(uint16_t));
  int4_tiled_dequantize_f16(tiled_gpu.tiled_weights(), tiled_weight.as<uint16_t>(), nullptr);
  CHECK(dequant_error(GptqLinear(tiled.tensors, "cpu").dequantize(), tiled_weight.to_vector<uint16_t>(256 * 200), 256,
                      200) < 1e-3);
}

TEST_CASE("cuda GPTQ layer rejects g_idx entries outside the groups, naming the tensor", "[cuda]") {
  std::mt19937 rng(15);
  auto layer = make_layer(4, 64, 32, 32, true, GptqZeroFormat::v1, rng);
  layer.g_idx[5] = 7;
  CHECK_THROWS_WITH(GptqLinearCuda(layer.tensors, "model.layers.0.mlp.up_proj"),
                    Catch::Contains("model.layers.0.mlp.up_proj.g_idx"));
}
#endif  // CITADEL_HAVE_CUDA
