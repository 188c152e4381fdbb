// [cuda] Mixture-of-experts routing on the device (runtime/cuda/moe_routing.h)
// against plain host loops: the softmax top-k picks the same experts in the
// same order as a host sort (ties to the lower id: logits drawn from a few
// values so ties are common) with weights within 1e-6, normalised or not;
// the slot layout equals the host's exactly (groups in expert order, rows
// ascending in each, shared groups last) over one row, a decode batch and
// more rows than the kernel's 1,024-row tile.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "cuda_test_support.h"

#include "runtime/cuda/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using namespace citadel::runtime;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::test::to_device;

namespace {

struct HostRouting {
  std::vector<int32_t> expert;
  std::vector<float> weight;
};

HostRouting host_route(const std::vector<float>& logits, int64_t rows, int experts, int k, bool normalize,
                       float scale) {
  HostRouting out;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = &logits[size_t(r * experts)];
    const float top = *std::max_element(x, x + experts);
    std::vector<double> score(static_cast<size_t>(experts));
    double sum = 0;
    for (int e = 0; e < experts; ++e) sum += score[size_t(e)] = std::exp(double(x[e]) - top);
    for (double& s : score) s /= sum;
    std::vector<int32_t> order(static_cast<size_t>(experts));
    std::iota(order.begin(), order.end(), 0);
    // Ranked by the logits (the softmax keeps their order; equal logits tie).
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
    double chosen = 0;
    for (int j = 0; j < k; ++j) chosen += score[size_t(order[size_t(j)])];
    for (int j = 0; j < k; ++j) {
      double w = score[size_t(order[size_t(j)])];
      if (normalize) w /= chosen + 1e-20;
      out.expert.push_back(order[size_t(j)]);
      out.weight.push_back(static_cast<float>(w * scale));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cuda top-k routing picks the host's experts in the host's order", "[cuda]") {
  struct Case {
    int64_t rows;
    int experts, k;
    bool normalize;
    float scale;
  };
  for (const Case c : {Case{1, 8, 3, false, 1.0f}, Case{64, 64, 6, false, 1.0f}, Case{37, 64, 6, true, 2.5f},
                       Case{5, 200, 8, false, 1.0f}, Case{300, 256, 1, true, 1.0f}}) {
    INFO(c.rows << " rows, " << c.experts << " experts, top-" << c.k);
    std::mt19937 rng(static_cast<unsigned>(c.rows * 131 + c.experts));
    std::uniform_int_distribution<int> level(0, 11);  // few distinct logits: ties are common
    std::vector<float> logits(size_t(c.rows * c.experts));
    for (float& v : logits) v = 0.25f * static_cast<float>(level(rng)) - 1.0f;
    DeviceBuffer logits_d = to_device(logits), expert_d(size_t(c.rows * c.k) * 4), weight_d(size_t(c.rows * c.k) * 4);
    cuda::route_top_k(logits_d.as<float>(), c.rows, c.experts, c.k, c.normalize, c.scale, expert_d.as<int32_t>(),
                      weight_d.as<float>(), nullptr);
    const HostRouting want = host_route(logits, c.rows, c.experts, c.k, c.normalize, c.scale);
    CHECK(expert_d.to_vector<int32_t>(want.expert.size()) == want.expert);
    const std::vector<float> got = weight_d.to_vector<float>(want.weight.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want.weight[i]));
    CHECK(worst < 1e-6 * c.scale);
  }
}

TEST_CASE("cuda top-k routing refuses more experts than it holds", "[cuda]") {
  DeviceBuffer scratch(1024);
  CHECK_THROWS_WITH(cuda::route_top_k(scratch.as<float>(), 1, 300, 6, false, 1.0f, scratch.as<int32_t>(),
                                      scratch.as<float>(), nullptr),
                    Catch::Contains("300 experts"));
  CHECK_THROWS(cuda::route_top_k(scratch.as<float>(), 1, 64, 9, false, 1.0f, scratch.as<int32_t>(),
                                 scratch.as<float>(), nullptr));
}

TEST_CASE("cuda expert slot plan equals the host's layout", "[cuda]") {
  struct Case {
    int64_t rows;
    int experts, k, shared;
  };
  for (const Case c : {Case{1, 8, 3, 2}, Case{64, 64, 6, 2}, Case{2500, 64, 6, 2}, Case{40, 16, 4, 0}}) {
    INFO(c.rows << " rows, " << c.experts << " experts, top-" << c.k << ", " << c.shared << " shared");
    std::mt19937 rng(static_cast<unsigned>(c.rows + c.experts));
    std::vector<int32_t> expert;
    std::vector<float> weight;
    std::vector<int32_t> ids(static_cast<size_t>(c.experts));
    std::iota(ids.begin(), ids.end(), 0);
    for (int64_t r = 0; r < c.rows; ++r) {
      std::shuffle(ids.begin(), ids.end(), rng);
      // Skewed: most rows pick from the first few experts, so some experts
      // get many rows and some none.
      if (r % 3 == 0) std::sort(ids.begin(), ids.begin() + std::min(c.experts, 2 * c.k));
      for (int j = 0; j < c.k; ++j) {
        expert.push_back(ids[size_t(j)]);
        weight.push_back(0.01f * static_cast<float>(r % 97) + 0.001f * static_cast<float>(j));
      }
    }
    const int per_row = c.k + c.shared, groups = c.experts + c.shared;
    const int64_t slots = c.rows * per_row;
    // The host's layout.
    std::vector<int32_t> offsets(static_cast<size_t>(groups + 1)), slot_rows(static_cast<size_t>(slots)),
        row_slots(static_cast<size_t>(slots));
    std::vector<float> row_weights(static_cast<size_t>(slots));
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(c.experts));  // (row, j) pairs in row order
    for (int64_t r = 0; r < c.rows; ++r)
      for (int j = 0; j < c.k; ++j) members[size_t(expert[size_t(r * c.k + j)])].push_back(r * c.k + j);
    int32_t at = 0;
    for (int e = 0; e < c.experts; ++e) {
      offsets[size_t(e)] = at;
      for (int64_t i : members[size_t(e)]) {
        const int64_t r = i / c.k, j = i % c.k;
        slot_rows[size_t(at)] = static_cast<int32_t>(r);
        row_slots[size_t(r * per_row + j)] = at;
        row_weights[size_t(r * per_row + j)] = weight[size_t(i)];
        ++at;
      }
    }
    for (int s = 0; s < c.shared; ++s) {
      offsets[size_t(c.experts + s)] = at;
      for (int64_t r = 0; r < c.rows; ++r, ++at) {
        slot_rows[size_t(at)] = static_cast<int32_t>(r);
        row_slots[size_t(r * per_row + c.k + s)] = at;
        row_weights[size_t(r * per_row + c.k + s)] = 1.0f;
      }
    }
    offsets[size_t(groups)] = at;

    DeviceBuffer expert_d = to_device(expert), weight_d = to_device(weight);
    DeviceBuffer offsets_d(size_t(groups + 1) * 4), slot_rows_d(size_t(slots) * 4), row_slots_d(size_t(slots) * 4),
        row_weights_d(size_t(slots) * 4);
    cuda::plan_expert_slots(expert_d.as<int32_t>(), weight_d.as<float>(), c.rows, c.k, c.experts, c.shared,
                            offsets_d.as<int32_t>(), slot_rows_d.as<int32_t>(), row_slots_d.as<int32_t>(),
                            row_weights_d.as<float>(), nullptr);
    CHECK(offsets_d.to_vector<int32_t>(offsets.size()) == offsets);
    CHECK(slot_rows_d.to_vector<int32_t>(slot_rows.size()) == slot_rows);
    CHECK(row_slots_d.to_vector<int32_t>(row_slots.size()) == row_slots);
    CHECK(row_weights_d.to_vector<float>(row_weights.size()) == row_weights);
  }
}
#endif  // CITADEL_HAVE_CUDA
