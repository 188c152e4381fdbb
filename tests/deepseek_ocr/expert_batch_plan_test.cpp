// deepseek-ocr's expert batch plan (expert_batch_plan.h), the host-side layout
// behind the CUDA decoder's batched expert GEMMs: runs of MLPs of one width,
// padding to the run's largest row count, every row's slots and weights in
// MLP order; and, on random routings, that gathering rows into slots, applying
// each MLP to its slots and adding the slots back by row_slots/row_weights
// gives what applying the MLPs to the rows directly gives.
#include "expert_batch_plan.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>
#include <vector>

using citadel::deepseek_ocr::ExpertBatchPlan;
using citadel::deepseek_ocr::MlpAssignment;
using citadel::deepseek_ocr::plan_expert_batch;

TEST_CASE("expert batch plan lays out runs, padding and each row's slots", "[deepseek-ocr]") {
  // Three routed experts of width 4 (2, 1 and 3 rows), then a shared MLP of width 8 on all 3 rows.
  const std::vector<MlpAssignment> mlps{{4, {0, 2}, {0.5f, 0.25f}},
                                        {4, {1}, {0.75f}},
                                        {4, {2, 0, 1}, {0.1f, 0.2f, 0.3f}},
                                        {8, {0, 1, 2}, {1.0f, 1.0f, 1.0f}}};
  const ExpertBatchPlan plan = plan_expert_batch(mlps, 3);
  REQUIRE(plan.runs.size() == 2);
  CHECK(plan.runs[0].begin == 0);
  CHECK(plan.runs[0].end == 3);
  CHECK(plan.runs[0].padded == 3);
  CHECK(plan.runs[1].begin == 3);
  CHECK(plan.runs[1].padded == 3);
  CHECK(plan.runs[1].slot == 9);
  CHECK(plan.runs[1].gate_up == 9 * 2 * 4);
  CHECK(plan.runs[1].activation == 9 * 4);
  CHECK(plan.slots == 12);
  CHECK(plan.gate_up_floats == 9 * 8 + 3 * 16);
  CHECK(plan.activation_elements == 9 * 4 + 3 * 8);
  // Padding slots (MLP 0's third, MLP 1's second and third) gather row 0.
  CHECK(plan.slot_rows == std::vector<int32_t>{0, 2, 0, 1, 0, 0, 2, 0, 1, 0, 1, 2});
  REQUIRE(plan.per_row == 3);
  // Row 0: MLP 0 slot 0 (0.5), MLP 2 slot 7 (0.2), shared slot 9 (1).
  CHECK(plan.row_slots == std::vector<int32_t>{0, 7, 9, 3, 8, 10, 1, 6, 11});
  CHECK(plan.row_weights == std::vector<float>{0.5f, 0.2f, 1.0f, 0.75f, 0.3f, 1.0f, 0.25f, 0.1f, 1.0f});
}

TEST_CASE("expert batch plan marks rows that take fewer MLPs and refuses bad rows", "[deepseek-ocr]") {
  const ExpertBatchPlan plan = plan_expert_batch(std::vector<MlpAssignment>{{2, {1, 1}, {1.0f, 2.0f}}}, 3);
  CHECK(plan.per_row == 2);
  CHECK(plan.row_slots == std::vector<int32_t>{-1, -1, 0, 1, -1, -1});
  CHECK(plan_expert_batch(std::vector<MlpAssignment>{}, 4).slots == 0);
  CHECK_THROWS_WITH(plan_expert_batch(std::vector<MlpAssignment>{{2, {3}, {1.0f}}}, 3),
                    Catch::Contains("takes row 3 of 3"));
  CHECK_THROWS_WITH(plan_expert_batch(std::vector<MlpAssignment>{{2, {0, 1}, {1.0f}}}, 3),
                    Catch::Contains("2 rows but 1 weights"));
}

TEST_CASE("expert batch plan reproduces the weighted sum of every row's MLPs", "[deepseek-ocr]") {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 20; ++trial) {
    const int rows = 1 + trial * 3, experts = 8, top_k = 3;
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<MlpAssignment> routed(experts);
    for (auto& expert : routed) expert.width = 16;
    for (int r = 0; r < rows; ++r) {
      std::set<int> chosen;
      while (static_cast<int>(chosen.size()) < top_k) chosen.insert(static_cast<int>(rng() % experts));
      for (int e : chosen) {
        routed[static_cast<size_t>(e)].rows.push_back(r);
        routed[static_cast<size_t>(e)].weights.push_back(unit(rng));
      }
    }
    std::vector<MlpAssignment> mlps;
    std::vector<int> ids;  // which MLP each assignment is
    for (int e = 0; e < experts; ++e) {
      if (routed[static_cast<size_t>(e)].rows.empty()) continue;
      mlps.push_back(routed[static_cast<size_t>(e)]);
      ids.push_back(e);
    }
    std::vector<int32_t> all(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) all[static_cast<size_t>(r)] = r;
    mlps.push_back({32, all, std::vector<float>(static_cast<size_t>(rows), 1.0f)});
    ids.push_back(experts);
    // "MLP" m applied to row r: a value no other pair gives.
    auto apply = [](int m, int r) { return std::sin(1.0 + 0.37 * m + 0.011 * r); };

    std::vector<double> direct(static_cast<size_t>(rows), 0.0);
    for (size_t m = 0; m < mlps.size(); ++m)
      for (size_t i = 0; i < mlps[m].rows.size(); ++i)
        direct[static_cast<size_t>(mlps[m].rows[i])] += mlps[m].weights[i] * apply(ids[m], mlps[m].rows[i]);

    const ExpertBatchPlan plan = plan_expert_batch(mlps, rows);
    std::vector<double> slot_out(static_cast<size_t>(plan.slots), 0.0);
    for (const auto& run : plan.runs)
      for (size_t m = run.begin; m < run.end; ++m)
        for (int64_t k = 0; k < run.padded; ++k) {
          const int64_t slot = run.first_slot(m) + k;
          slot_out[static_cast<size_t>(slot)] = apply(ids[m], plan.slot_rows[static_cast<size_t>(slot)]);
        }
    double worst = 0.0;
    for (int r = 0; r < rows; ++r) {
      double sum = 0.0;
      for (int64_t j = 0; j < plan.per_row; ++j) {
        const int32_t slot = plan.row_slots[static_cast<size_t>(r * plan.per_row + j)];
        if (slot >= 0) sum += plan.row_weights[static_cast<size_t>(r * plan.per_row + j)] * slot_out[static_cast<size_t>(slot)];
      }
      worst = std::max(worst, std::abs(sum - direct[static_cast<size_t>(r)]));
    }
    INFO("trial " << trial << ", " << rows << " rows");
    CHECK(worst < 1e-9);
  }
}
