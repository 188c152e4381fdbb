// [cuda] ggml block kernels against the CPU ones on random blocks of every
// format the GPU reads (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K):
// ggml_gemv at batch 1, 4 and 16 against runtime::ggml_matmul; GgmlLinearCuda
// (GEMV or f16 tiles by batch) with a bias, llama.cpp's row permutation and the residual-add epilogue;
// the prefill path (dequantized f16 tiles + cuBLAS) at batch 40; the f16
// dequantization and the f32 embedding rows bit-identical to the CPU's
// dequantize_row. Tolerances, relative to the output's largest magnitude:
// 2e-5 for the GEMV (f32 accumulation in another order over <= 1280
// products), 5e-3 for the f16 tensor-core path (weights and activations
// rounded to f16, ~5e-4 each).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"
#include "random_ggml.h"

#include "runtime/core/half.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/ggml_gemv.h"
#include "runtime/cuda/ggml_linear_cuda.h"
#include "runtime/cuda/ggml_rows.h"
#include "runtime/kernels/ggml_dequantize.h"
#include "runtime/kernels/ggml_matmul.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using namespace citadel::runtime::cuda;
using citadel::runtime::cuda::test::ggml_block_types;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::random_ggml_blocks;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

// Whole blocks, and (for 32-value formats) not a whole 512-value step of the GEMV.
int64_t test_cols(GgmlType type) { return ggml_type_traits(static_cast<uint32_t>(type)).block_size == 256 ? 1280 : 1120; }

struct Case {
  GgmlType type;
  int64_t rows, cols;
  std::vector<uint8_t> blocks;
  GgmlMatrix host() const { return GgmlMatrix{type, rows, cols, blocks.data()}; }
};

Case make_case(GgmlType type, int64_t rows, std::mt19937& rng) {
  Case c{type, rows, test_cols(type), {}};
  c.blocks = random_ggml_blocks(type, rows, c.cols, rng);
  return c;
}

std::vector<float> gpu_forward(const GgmlLinearCuda& layer, const std::vector<float>& x, int64_t m,
                               LinearEpilogue::Kind kind, const std::vector<float>& initial) {
  CublasContext cublas;
  const DeviceBuffer x_device = to_device(x);
  DeviceBuffer y = to_device(initial);
  layer.forward(cublas, x_device.as<float>(), m, LinearEpilogue::single(y.as<float>(), layer.out_features(), kind),
                nullptr);
  return y.to_vector<float>(initial.size());
}

}  // namespace

TEST_CASE("CUDA ggml GEMV equals the CPU ggml_matmul at batch 1, 4 and 16 for every block type", "[cuda]") {
  REQUIRE(device_available());
  std::mt19937 rng(11);
  ThreadPool pool(4);
  for (GgmlType type : ggml_block_types()) {
    const Case c = make_case(type, 200, rng);  // 200 rows: partial CTAs of both row groupings
    const GgmlLinearCuda layer(c.host(), "test");
    CHECK(layer.device_bytes() <= static_cast<uint64_t>(c.blocks.size() + 15 * c.rows));
    for (int64_t m : {1, 4, 16}) {
      INFO(ggml_type_traits(static_cast<uint32_t>(type)).name << " batch " << m);
      const std::vector<float> x = random_floats(static_cast<size_t>(m * c.cols), rng);
      std::vector<float> want(static_cast<size_t>(m * c.rows));
      ggml_matmul(pool, x.data(), m, c.host(), want.data());
      const DeviceBuffer x_device = to_device(x);
      DeviceBuffer y = to_device(std::vector<float>(want.size(), 7.0f));
      ggml_gemv(layer.matrix(), x_device.as<float>(), m, nullptr, y.as<float>(), c.rows, false, nullptr);
      CHECK(scaled_max_error(y.to_vector<float>(want.size()), want) < 2e-5);
    }
  }
}

TEST_CASE("CUDA ggml layers apply the row order, the bias and the residual add as the CPU does", "[cuda]") {
  REQUIRE(device_available());
  std::mt19937 rng(12);
  ThreadPool pool(4);
  for (GgmlType type : {GgmlType::q4_k, GgmlType::q5_0, GgmlType::q6_k}) {
    INFO(ggml_type_traits(static_cast<uint32_t>(type)).name);
    const Case c = make_case(type, 96, rng);
    std::vector<int32_t> order(static_cast<size_t>(c.rows));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    const std::vector<float> bias = random_floats(static_cast<size_t>(c.rows), rng);
    const GgmlLinearCuda layer(c.host(), "test", order.data(), bias.data());
    for (int64_t m : {3, 40}) {  // the GEMV, then f16 tiles
      INFO("batch " << m);
      const std::vector<float> x = random_floats(static_cast<size_t>(m * c.cols), rng);
      const std::vector<float> residual = random_floats(static_cast<size_t>(m * c.rows), rng);
      std::vector<float> want(residual.size());
      ggml_matmul(pool, x.data(), m, c.host(), want.data(), bias.data(), order.data());
      for (size_t i = 0; i < want.size(); ++i) want[i] += residual[i];
      const std::vector<float> got = gpu_forward(layer, x, m, LinearEpilogue::Kind::add, residual);
      CHECK(scaled_max_error(got, want) < (m <= GgmlLinearCuda::kGemvMaxRows ? 2e-5 : 5e-3));
    }
  }
}

TEST_CASE("CUDA ggml prefill (f16 tiles + cuBLAS) stays within 5e-3 of the CPU for every block type", "[cuda]") {
  REQUIRE(device_available());
  std::mt19937 rng(13);
  ThreadPool pool(4);
  for (GgmlType type : ggml_block_types()) {
    INFO(ggml_type_traits(static_cast<uint32_t>(type)).name);
    const Case c = make_case(type, 130, rng);
    const GgmlLinearCuda layer(c.host(), "test");
    const int64_t m = 40;
    const std::vector<float> x = random_floats(static_cast<size_t>(m * c.cols), rng);
    std::vector<float> want(static_cast<size_t>(m * c.rows));
    ggml_matmul(pool, x.data(), m, c.host(), want.data());
    const std::vector<float> got = gpu_forward(layer, x, m, LinearEpilogue::Kind::store, std::vector<float>(want.size()));
    CHECK(scaled_max_error(got, want) < 5e-3);
  }
}

TEST_CASE("CUDA ggml dequantization (f16 rows, f32 embedding rows) is bit-identical to the CPU's", "[cuda]") {
  REQUIRE(device_available());
  std::mt19937 rng(14);
  for (GgmlType type : ggml_block_types()) {
    INFO(ggml_type_traits(static_cast<uint32_t>(type)).name);
    const Case c = make_case(type, 24, rng);
    const GgmlLinearCuda table(c.host(), "table");
    std::vector<float> rows(static_cast<size_t>(c.rows * c.cols));
    for (int64_t r = 0; r < c.rows; ++r) dequantize_row(type, c.host().row(r), c.cols, rows.data() + r * c.cols);
    std::vector<uint16_t> rows_half(rows.size());
    float_to_half(rows.data(), rows_half.data(), rows.size());

    DeviceBuffer half_out(static_cast<size_t>(10 * c.cols) * 2, "test f16 rows");
    ggml_dequantize_rows_f16(table.matrix(), 7, 10, half_out.as<uint16_t>(), nullptr);
    const std::vector<uint16_t> got_half = half_out.to_vector<uint16_t>(static_cast<size_t>(10 * c.cols));
    CHECK(std::equal(got_half.begin(), got_half.end(), rows_half.begin() + 7 * c.cols));

    const std::vector<int32_t> ids = {5, 0, 23, 5, 11};
    const DeviceBuffer ids_device = to_device(ids);
    DeviceBuffer f32_out(ids.size() * static_cast<size_t>(c.cols) * 4, "test f32 rows");
    ggml_embedding_lookup(table.matrix(), ids_device.as<int32_t>(), static_cast<int64_t>(ids.size()),
                          f32_out.as<float>(), nullptr);
    const std::vector<float> got = f32_out.to_vector<float>(ids.size() * static_cast<size_t>(c.cols));
    for (size_t t = 0; t < ids.size(); ++t) {
      INFO("id " << ids[t]);
      CHECK(std::equal(got.begin() + static_cast<std::ptrdiff_t>(t * c.cols),
                       got.begin() + static_cast<std::ptrdiff_t>((t + 1) * c.cols), rows.begin() + ids[t] * c.cols));
    }
  }
}

TEST_CASE("CUDA ggml layers refuse a type without block kernels, naming the layer", "[cuda]") {
  REQUIRE(device_available());
  const std::vector<uint8_t> bytes(64 * 4, 0);
  CHECK_THROWS_WITH(GgmlLinearCuda(GgmlMatrix{GgmlType::f32, 4, 64, bytes.data()}, "blk.0.ffn_up.weight"),
                    Catch::Contains("blk.0.ffn_up.weight") && Catch::Contains("F32"));
}

#endif  // CITADEL_HAVE_CUDA
