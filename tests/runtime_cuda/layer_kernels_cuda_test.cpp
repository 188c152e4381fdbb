// [cuda] Layer kernels vs their CPU counterparts on random inputs: RMSNorm,
// RoPE with llama3 scaling, SiLU·mul, residual and bias add, embedding lookup
// (f32/f16/bf16 tables), f16 conversion, argmax, and the cuBLAS f16 GEMM vs
// runtime::matmul. Tolerances, relative to the output's largest magnitude:
// 1e-5 for the f32 kernels (same formulas, different summation order; 1e-4
// for RMSNorm, whose CPU version sums up to 5000 squares sequentially), 0
// (bit-exact) for lookups and conversions, 2e-3 for the GEMM (x rounded to f16).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/half.h"
#include "runtime/core/thread_pool.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"
#include "runtime/kernels/rope.h"
#include "runtime/kernels/sampling.h"

#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda RMSNorm matches the CPU kernel", "[cuda]") {
  std::mt19937 rng(21);
  for (int64_t dim : {64, 2048, 5000}) {
    const int64_t rows = 7;
    const auto x = random_floats(static_cast<size_t>(rows * dim), rng, 3.0f);
    const auto weight = random_floats(static_cast<size_t>(dim), rng);
    std::vector<float> expected(x.size());
    rms_norm(x.data(), rows, dim, weight.data(), 1e-5f, expected.data());
    DeviceBuffer xd = to_device(x), wd = to_device(weight), yd(x.size() * sizeof(float));
    cuda::rms_norm(xd.as<float>(), rows, dim, wd.as<float>(), 1e-5f, yd.as<float>(), nullptr);
    INFO("dim " << dim);
    CHECK(scaled_max_error(yd.to_vector<float>(x.size()), expected) < 1e-4);
  }
}

TEST_CASE("cuda RoPE with llama3-scaled inv_freq matches the CPU kernel, partial rotary too", "[cuda]") {
  std::mt19937 rng(22);
  RopeScaling scaling;
  scaling.type = RopeScaling::Type::llama3;
  scaling.factor = 8.0;
  scaling.original_max_position_embeddings = 8192;
  for (int64_t rotary_dim : {128, 64}) {
    const int64_t tokens = 5, heads = 6, head_dim = 128;
    const auto inv_freq = rope_inv_freq(rotary_dim, 500000.0, scaling);
    const std::vector<int32_t> positions = {0, 1, 77, 4095, 30000};
    auto x = random_floats(static_cast<size_t>(tokens * heads * head_dim), rng);
    DeviceBuffer xd = to_device(x), pd = to_device(positions), fd = to_device(inv_freq);
    apply_rope(x.data(), tokens, heads, head_dim, positions.data(), inv_freq);
    cuda::apply_rope(xd.as<float>(), tokens, heads, head_dim, pd.as<int32_t>(), fd.as<float>(),
                     static_cast<int64_t>(inv_freq.size()), nullptr);
    INFO("rotary_dim " << rotary_dim);
    CHECK(scaled_max_error(xd.to_vector<float>(x.size()), x) < 1e-5);
  }
}

TEST_CASE("cuda SiLU-mul, residual add and bias add match the CPU kernels", "[cuda]") {
  std::mt19937 rng(23);
  const int64_t rows = 3, cols = 1001, n = rows * cols;
  const auto gate = random_floats(n, rng, 4.0f), up = random_floats(n, rng), bias = random_floats(cols, rng);
  std::vector<float> expected(static_cast<size_t>(n));
  silu_mul(gate.data(), up.data(), n, expected.data());
  DeviceBuffer gd = to_device(gate), ud = to_device(up), bd = to_device(bias), od(n * sizeof(float));
  cuda::silu_mul(gd.as<float>(), ud.as<float>(), n, od.as<float>(), nullptr);
  CHECK(scaled_max_error(od.to_vector<float>(n), expected) < 1e-5);

  add_in_place(expected.data(), up.data(), n);
  cuda::add_in_place(od.as<float>(), ud.as<float>(), n, nullptr);
  CHECK(scaled_max_error(od.to_vector<float>(n), expected) < 1e-6);

  for (int64_t r = 0; r < rows; ++r) add_in_place(expected.data() + r * cols, bias.data(), cols);
  cuda::add_bias(od.as<float>(), bd.as<float>(), rows, cols, nullptr);
  CHECK(scaled_max_error(od.to_vector<float>(n), expected) < 1e-6);

  // Columns a multiple of 4 (16-byte loads), more rows than one block row of the grid takes.
  const int64_t wide_rows = 37, wide_cols = 768;
  auto wide = random_floats(static_cast<size_t>(wide_rows * wide_cols), rng);
  const auto wide_bias = random_floats(static_cast<size_t>(wide_cols), rng);
  DeviceBuffer wd = to_device(wide), wbd = to_device(wide_bias);
  cuda::add_bias(wd.as<float>(), wbd.as<float>(), wide_rows, wide_cols, nullptr);
  for (int64_t r = 0; r < wide_rows; ++r) add_in_place(wide.data() + r * wide_cols, wide_bias.data(), wide_cols);
  CHECK(wd.to_vector<float>(wide.size()) == wide);
}

TEST_CASE("cuda embedding lookup equals the CPU lookup for f32, f16 and bf16 tables", "[cuda]") {
  std::mt19937 rng(24);
  const int64_t vocab = 50, dim = 300;
  const auto table = random_floats(static_cast<size_t>(vocab * dim), rng);
  std::vector<uint16_t> half_table(table.size()), bf16_table(table.size());
  float_to_half(table.data(), half_table.data(), table.size());
  float_to_bfloat16(table.data(), bf16_table.data(), table.size());
  const std::vector<int32_t> ids = {3, 49, 0, 3, 17};
  DeviceBuffer id_device = to_device(ids), out(ids.size() * dim * sizeof(float));
  struct Case { DType dtype; const void* host; size_t bytes; };
  for (const Case& c : {Case{DType::f32, table.data(), table.size() * 4}, Case{DType::f16, half_table.data(), table.size() * 2},
                        Case{DType::bf16, bf16_table.data(), table.size() * 2}}) {
    std::vector<float> expected(ids.size() * dim);
    embedding_lookup(c.host, c.dtype, vocab, dim, ids.data(), static_cast<int64_t>(ids.size()), expected.data());
    DeviceBuffer table_device = DeviceBuffer::from_host(c.host, c.bytes);
    cuda::embedding_lookup(table_device.data(), c.dtype, vocab, dim, id_device.as<int32_t>(),
                           static_cast<int64_t>(ids.size()), out.as<float>(), nullptr);
    CHECK(out.to_vector<float>(expected.size()) == expected);
  }
}

TEST_CASE("cuda f16 conversions round like the CPU ones", "[cuda]") {
  std::mt19937 rng(25);
  auto values = random_floats(4099, rng, 100.0f);
  values[0] = 1e-7f;  // subnormal in f16
  values[1] = 70000.0f;  // overflows to inf
  std::vector<uint16_t> expected(values.size());
  float_to_half(values.data(), expected.data(), values.size());
  DeviceBuffer in = to_device(values), half(values.size() * 2), back(values.size() * 4);
  cuda::float_to_half(in.as<float>(), half.as<uint16_t>(), static_cast<int64_t>(values.size()), nullptr);
  CHECK(half.to_vector<uint16_t>(values.size()) == expected);
  cuda::half_to_float(half.as<uint16_t>(), back.as<float>(), static_cast<int64_t>(values.size()), nullptr);
  std::vector<float> expected_back(values.size());
  half_to_float(expected.data(), expected_back.data(), values.size());
  CHECK(back.to_vector<float>(values.size()) == expected_back);
}

TEST_CASE("cuda argmax picks the CPU argmax per row, lowest index among ties", "[cuda]") {
  std::mt19937 rng(26);
  // 32000: 16-byte loads (a multiple of 4); 32001: rows unaligned, one float at a time.
  for (const int64_t vocab : {int64_t{32000}, int64_t{32001}}) {
    INFO("vocabulary " << vocab);
    const int64_t rows = 4;
    auto logits = random_floats(static_cast<size_t>(rows * vocab), rng);
    logits[static_cast<size_t>(1 * vocab + 100)] = 50.0f;
    logits[static_cast<size_t>(1 * vocab + 31999)] = 50.0f;  // tie: 100 wins
    logits[static_cast<size_t>(2 * vocab + 31999)] = 60.0f;
    logits[static_cast<size_t>(3 * vocab + 4097)] = 55.0f;  // in the vector loop's tail
    logits[static_cast<size_t>(3 * vocab + 16390)] = 55.0f;
    DeviceBuffer ld = to_device(logits), out(rows * sizeof(int32_t));
    cuda::argmax_rows(ld.as<float>(), rows, vocab, out.as<int32_t>(), nullptr);
    const auto got = out.to_vector<int32_t>(rows);
    for (int64_t r = 0; r < rows; ++r) {
      CHECK(got[static_cast<size_t>(r)] ==
            argmax(std::span<const float>(logits.data() + r * vocab, static_cast<size_t>(vocab))));
    }
    CHECK(got[1] == 100);
    CHECK(got[2] == 31999);
    CHECK(got[3] == 4097);
  }
}

TEST_CASE("cuda f16 GEMM through cuBLAS matches runtime::matmul for both weight layouts", "[cuda]") {
  std::mt19937 rng(27);
  const int64_t in = 320, out = 72;
  ThreadPool pool(2);
  const auto w = random_floats(static_cast<size_t>(out * in), rng, 0.05f);
  std::vector<uint16_t> w_out_in(w.size()), w_in_out(w.size());
  float_to_half(w.data(), w_out_in.data(), w.size());
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) w_in_out[static_cast<size_t>(i * out + o)] = w_out_in[static_cast<size_t>(o * in + i)];
  }
  const auto bias = random_floats(static_cast<size_t>(out), rng);
  cuda::CublasContext context;
  for (int64_t m : {1, 7, 64}) {
    const auto x = random_floats(static_cast<size_t>(m * in), rng);
    std::vector<float> expected(static_cast<size_t>(m * out));
    matmul(pool, x.data(), m, in, w_out_in.data(), DType::f16, out, expected.data(), bias.data());
    DeviceBuffer xd = to_device(x), bd = to_device(bias), yd(expected.size() * sizeof(float));
    for (auto layout : {cuda::WeightLayout::out_in, cuda::WeightLayout::in_out}) {
      DeviceBuffer wd = to_device(layout == cuda::WeightLayout::out_in ? w_out_in : w_in_out);
      cuda::matmul_f16(context, xd.as<float>(), m, in, wd.as<uint16_t>(), layout, out, yd.as<float>(), bd.as<float>(),
                       nullptr);
      INFO("m " << m << ", layout " << (layout == cuda::WeightLayout::out_in ? "out_in" : "in_out"));
      CHECK(scaled_max_error(yd.to_vector<float>(expected.size()), expected) < 2e-3);
    }
  }
}
#endif  // CITADEL_HAVE_CUDA
