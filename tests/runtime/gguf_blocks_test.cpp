// Tests of the ggml block kernels: dequantize_row bit-identical to the `gguf`
// package's numpy reference (tests/data/gguf/blocks.gguf holds random blocks
// of every type and gguf.quants.dequantize's output, made by
// tools/make_gguf_test_files.py), and ggml_matmul / ggml_rows against a
// float64 product over the reference weights, AVX2 and portable.
#include <catch2/catch.hpp>

#include "runtime/core/thread_pool.h"
#include "runtime/formats/gguf_file.h"
#include "runtime/kernels/ggml_dequantize.h"
#include "runtime/kernels/ggml_matmul.h"
#include "runtime/kernels/tile_matmul.h"
#include "runtime/random_inputs.h"
#include "support/test_support.hpp"

#include <bit>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

using namespace citadel::runtime;

namespace {

const char* const kTypes[] = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"};

const GgufFile& blocks() {
  static const GgufFile file(citadel::test::source_dir() / "tests/data/gguf/blocks.gguf");
  return file;
}

// The gguf package's dequantization of tensor `type` (F32 itself for F32).
std::vector<float> expected(const std::string& type) {
  const std::string name = type == "F32" ? "F32" : type + ".expected";
  const Tensor tensor = blocks().dense_tensor(name);
  const float* data = tensor.data_as<float>();
  return std::vector<float>(data, data + tensor.numel());
}

}  // namespace

TEST_CASE("dequantize_row is bit-identical to gguf.quants.dequantize for every type", "[runtime][gguf]") {
  for (const char* type : kTypes) {
    INFO(type);
    const GgmlMatrix matrix = blocks().matrix(type);
    const std::vector<float> want = expected(type);
    REQUIRE(static_cast<int64_t>(want.size()) == matrix.rows * matrix.cols);
    std::vector<float> got(want.size());
    for (int64_t r = 0; r < matrix.rows; ++r) dequantize_row(matrix.type, matrix.row(r), matrix.cols, got.data() + r * matrix.cols);
    size_t mismatches = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) ++mismatches;
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("dequantize_row rejects partial blocks and unread types", "[runtime][gguf]") {
  std::vector<float> out(64);
  std::vector<uint8_t> zeros(256);
  CHECK_THROWS_WITH(dequantize_row(GgmlType::q4_k, zeros.data(), 32, out.data()), Catch::Contains("not whole Q4_K blocks"));
  CHECK_THROWS_WITH(dequantize_row(GgmlType::q2_k, zeros.data(), 256, out.data()), Catch::Contains("Q2_K"));
}

TEST_CASE("ggml_matmul matches a float64 product over the reference weights", "[runtime][gguf]") {
  ThreadPool pool(2);
  std::mt19937 rng(7);
  for (int level : {2, 1, 0}) {  // the CPU's best loops (AVX-512 where present), AVX2, portable
    const bool portable = level == 0;
    detail::force_portable_cpu_kernels(portable);
    detail::force_avx2_cpu_kernels(level == 1);
    for (const char* type : kTypes) {
      for (int64_t m : {1, 3, 6}) {  // 6: a 4-token tile and two single tokens
        INFO(type << " m=" << m << " kernels " << detail::cpu_kernel_isa_name());
        const GgmlMatrix w = blocks().matrix(type);
        const std::vector<float> dense = expected(type);
        const std::vector<float> x = test::random_floats(static_cast<size_t>(m * w.cols), rng);
        const std::vector<float> bias = test::random_floats(static_cast<size_t>(w.rows), rng);
        const std::vector<int32_t> order = {2, 0, 1};
        std::vector<float> y(static_cast<size_t>(m * w.rows));
        ggml_matmul(pool, x.data(), m, w, y.data(), bias.data(), order.data());
        for (int64_t t = 0; t < m; ++t) {
          for (int64_t r = 0; r < w.rows; ++r) {
            double sum = bias[r], magnitude = 0.0;
            for (int64_t i = 0; i < w.cols; ++i) {
              const double term = double{x[t * w.cols + i]} * dense[order[r] * w.cols + i];
              sum += term;
              magnitude += std::fabs(term);
            }
            CHECK(std::fabs(y[t * w.rows + r] - sum) <= 1e-5 * magnitude + 1e-6);
          }
        }
      }
    }
  }
  detail::force_portable_cpu_kernels(false);
  detail::force_avx2_cpu_kernels(false);
}

TEST_CASE("ggml_rows dequantizes embedding rows and checks ids", "[runtime][gguf]") {
  const GgmlMatrix table = blocks().matrix("Q8_0");
  const std::vector<float> dense = expected("Q8_0");
  const int32_t ids[] = {2, 0};
  std::vector<float> out(2 * table.cols);
  ggml_rows(table, ids, 2, out.data());
  CHECK(std::equal(out.begin(), out.begin() + table.cols, dense.begin() + 2 * table.cols));
  CHECK(std::equal(out.begin() + table.cols, out.end(), dense.begin()));
  const int32_t bad[] = {3};
  CHECK_THROWS_WITH(ggml_rows(table, bad, 1, out.data()), Catch::Contains("token id 3"));
}
