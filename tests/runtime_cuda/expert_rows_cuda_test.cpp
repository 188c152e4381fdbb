// [cuda] The mixture-of-experts row kernels (runtime/cuda/expert_rows.h)
// against plain loops on random inputs: the f16 gather of routed rows and
// the SiLU·mul of stacked gate/up halves bit-exact to the host's f16
// rounding of the same f32 values (1 ulp for the SiLU, whose expf may differ
// from the host's), and the weighted add of each row's expert outputs, with
// unused (-1) slots, to 1e-6 of the output's scale.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/core/half.h"
#include "runtime/cuda/expert_rows.h"

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::random_floats;
using citadel::runtime::cuda::test::scaled_max_error;
using citadel::runtime::cuda::test::to_device;

TEST_CASE("cuda gather of routed rows to f16 matches the host", "[cuda]") {
  std::mt19937 rng(5);
  const int64_t rows = 9, dim = 1280;
  const auto x = random_floats(static_cast<size_t>(rows * dim), rng, 2.0f);
  const std::vector<int32_t> slot_rows{4, 0, 8, 4, 4, 1, 7, 2, 0, 3, 5};  // rows repeat, any order
  const int64_t slots = static_cast<int64_t>(slot_rows.size());
  DeviceBuffer xd = to_device(x), rowsd = to_device(slot_rows), out(size_t(slots * dim) * 2);
  cuda::gather_rows_to_half(xd.as<float>(), rowsd.as<int32_t>(), slots, dim, out.as<uint16_t>(), nullptr);
  const std::vector<uint16_t> got = out.to_vector<uint16_t>(size_t(slots * dim));
  size_t mismatches = 0;
  for (int64_t s = 0; s < slots; ++s)
    for (int64_t c = 0; c < dim; ++c)
      mismatches += got[size_t(s * dim + c)] != float_to_half(x[size_t(slot_rows[size_t(s)] * dim + c)]);
  CHECK(mismatches == 0);
}

TEST_CASE("cuda SiLU·mul of stacked gate/up halves matches the host", "[cuda]") {
  std::mt19937 rng(6);
  const int64_t slots = 13, width = 896;
  const auto gate_up = random_floats(static_cast<size_t>(slots * 2 * width), rng, 3.0f);
  DeviceBuffer in = to_device(gate_up), out(size_t(slots * width) * 2);
  cuda::silu_mul_halves_to_half(in.as<float>(), slots, width, out.as<uint16_t>(), nullptr);
  const std::vector<uint16_t> got = out.to_vector<uint16_t>(size_t(slots * width));
  int worst_ulps = 0;
  for (int64_t s = 0; s < slots; ++s)
    for (int64_t c = 0; c < width; ++c) {
      const float g = gate_up[size_t(s * 2 * width + c)], u = gate_up[size_t(s * 2 * width + width + c)];
      const uint16_t expected = float_to_half(g / (1.0f + std::exp(-g)) * u);
      worst_ulps = std::max(worst_ulps, std::abs(int(got[size_t(s * width + c)]) - int(expected)));
    }
  CHECK(worst_ulps <= 1);
}

TEST_CASE("cuda weighted add of each row's expert outputs matches the host", "[cuda]") {
  std::mt19937 rng(7);
  const int64_t rows = 6, dim = 1280, per_row = 4, slots = 17;
  const auto expert_out = random_floats(static_cast<size_t>(slots * dim), rng);
  const auto residual = random_floats(static_cast<size_t>(rows * dim), rng);
  std::uniform_int_distribution<int32_t> pick(-1, int32_t(slots - 1));
  std::vector<int32_t> slot(static_cast<size_t>(rows * per_row));
  for (int32_t& s : slot) s = pick(rng);
  slot[0] = -1;  // an unused slot first
  const auto weight = random_floats(slot.size(), rng, 0.3f);
  std::vector<float> expected = residual;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < dim; ++c) {
      float sum = 0.0f;
      for (int64_t j = 0; j < per_row; ++j) {
        const int32_t s = slot[size_t(r * per_row + j)];
        if (s >= 0) sum += weight[size_t(r * per_row + j)] * expert_out[size_t(s * dim + c)];
      }
      expected[size_t(r * dim + c)] += sum;
    }
  DeviceBuffer y = to_device(residual), outd = to_device(expert_out), slotd = to_device(slot), weightd = to_device(weight);
  cuda::add_weighted_rows(y.as<float>(), rows, dim, outd.as<float>(), slotd.as<int32_t>(), weightd.as<float>(), per_row,
                          nullptr);
  CHECK(scaled_max_error(y.to_vector<float>(residual.size()), expected) < 1e-6);
}
#endif  // CITADEL_HAVE_CUDA
