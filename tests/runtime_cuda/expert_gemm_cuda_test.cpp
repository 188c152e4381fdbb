// [cuda] The grouped expert GEMM (runtime/cuda/expert_gemm.h) against a
// double-precision host product of the same f16 operands: groups with no
// rows, one row, a row tile's edge (16, 17) and more rows than one pass
// (70 > 64), every row-tile size (the bound 16, 32 and past 32), inputs
// and columns that end inside a stage and a tile (k = 200, n = 180). f32
// output within 1e-5 of the output's scale (f32 accumulation); the SwiGLU
// output within 2e-3 (its f16 rounding). Slots outside every group are
// left as they were.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/half.h"
#include "runtime/cuda/expert_gemm.h"

#include <cmath>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

namespace {

std::vector<uint16_t> random_halves(size_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<uint16_t> v(n);
  for (uint16_t& h : v) h = float_to_half(dist(rng));
  return v;
}

void check_expert_gemm(const std::vector<int32_t>& counts, int64_t max_group_rows) {
  const int64_t k = 200, n = 180, groups = static_cast<int64_t>(counts.size());
  INFO("bound " << max_group_rows << " rows a group");
  std::mt19937 rng(static_cast<unsigned>(max_group_rows));
  std::vector<int32_t> offsets{0};
  for (int32_t c : counts) offsets.push_back(offsets.back() + c);
  const int64_t slots = offsets.back() + 3;  // 3 slots past the last group, never written
  const std::vector<uint16_t> x = random_halves(size_t(slots * k), rng, 1.0f);
  std::vector<DeviceBuffer> weights;  // per group: [2n, k] (gate, up); the f32 case uses the first n rows
  std::vector<std::vector<uint16_t>> host_weights;
  std::vector<const void*> pointers;
  for (int64_t g = 0; g < groups; ++g) {
    host_weights.push_back(random_halves(size_t(2 * n * k), rng, 0.1f));
    weights.push_back(to_device(host_weights.back()));
    pointers.push_back(weights.back().data());
  }
  DeviceBuffer x_d = to_device(x), offsets_d = to_device(offsets), pointers_d = to_device(pointers);
  auto dot = [&](int64_t g, int64_t s, int64_t row) {
    double sum = 0;
    for (int64_t i = 0; i < k; ++i)
      sum += double(half_to_float(x[size_t(s * k + i)])) * half_to_float(host_weights[size_t(g)][size_t(row * k + i)]);
    return sum;
  };

  const std::vector<float> untouched(static_cast<size_t>(slots * n), -7.0f);
  DeviceBuffer y_d = to_device(untouched);
  cuda::expert_gemm_f16(x_d.as<uint16_t>(), k, pointers_d.as<const uint16_t* const>(), n, offsets_d.as<int32_t>(),
                        groups, max_group_rows, cuda::ExpertGemmOutput::f32, y_d.data(), nullptr);
  std::vector<float> expected = untouched;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t s = offsets[size_t(g)]; s < offsets[size_t(g + 1)]; ++s)
      for (int64_t c = 0; c < n; ++c) expected[size_t(s * n + c)] = static_cast<float>(dot(g, s, c));
  CHECK(scaled_max_error(y_d.to_vector<float>(expected.size()), expected) < 1e-5);

  const std::vector<uint16_t> untouched_half(size_t(slots * n), float_to_half(-7.0f));
  DeviceBuffer z_d = to_device(untouched_half);
  cuda::expert_gemm_f16(x_d.as<uint16_t>(), k, pointers_d.as<const uint16_t* const>(), n, offsets_d.as<int32_t>(),
                        groups, max_group_rows, cuda::ExpertGemmOutput::silu_mul_f16, z_d.data(), nullptr);
  std::vector<float> want(static_cast<size_t>(slots * n), -7.0f), got(static_cast<size_t>(slots * n));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t s = offsets[size_t(g)]; s < offsets[size_t(g + 1)]; ++s)
      for (int64_t c = 0; c < n; ++c) {
        const double gate = dot(g, s, c), up = dot(g, s, n + c);
        want[size_t(s * n + c)] = static_cast<float>(gate / (1.0 + std::exp(-gate)) * up);
      }
  const std::vector<uint16_t> z = z_d.to_vector<uint16_t>(got.size());
  for (size_t i = 0; i < got.size(); ++i) got[i] = half_to_float(z[i]);
  CHECK(scaled_max_error(got, want) < 2e-3);
}

}  // namespace

TEST_CASE("cuda grouped expert GEMM matches the host's products", "[cuda]") {
  check_expert_gemm({0, 1, 5, 16, 0, 3}, 16);
  check_expert_gemm({17, 0, 32, 2, 9}, 32);
  check_expert_gemm({70, 0, 1, 16, 17, 64, 33}, 70);
}

TEST_CASE("cuda grouped expert GEMM refuses shapes it does not take", "[cuda]") {
  DeviceBuffer scratch(1024);
  CHECK_THROWS_WITH(cuda::expert_gemm_f16(scratch.as<uint16_t>(), 12, scratch.as<const uint16_t* const>(), 16,
                                          scratch.as<int32_t>(), 1, 1, cuda::ExpertGemmOutput::f32, scratch.data(),
                                          nullptr),
                    Catch::Contains("k 12"));
}
#endif  // CITADEL_HAVE_CUDA
