#include "expert_batch_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace citadel::deepseek_ocr {

ExpertBatchPlan plan_expert_batch(std::span<const MlpAssignment> mlps, int64_t rows) {
  ExpertBatchPlan plan;
  std::vector<int32_t> taken(static_cast<size_t>(std::max<int64_t>(rows, 0)), 0);
  for (size_t m = 0; m < mlps.size(); ++m) {
    if (mlps[m].weights.size() != mlps[m].rows.size())
      throw std::invalid_argument("expert batch: MLP " + std::to_string(m) + " has " +
                                  std::to_string(mlps[m].rows.size()) + " rows but " +
                                  std::to_string(mlps[m].weights.size()) + " weights");
    for (int32_t row : mlps[m].rows) {
      if (row < 0 || row >= rows)
        throw std::invalid_argument("expert batch: MLP " + std::to_string(m) + " takes row " + std::to_string(row) +
                                    " of " + std::to_string(rows));
      plan.per_row = std::max<int64_t>(plan.per_row, ++taken[static_cast<size_t>(row)]);
    }
  }
  for (size_t m = 0; m < mlps.size();) {
    MlpRun run{m, m, mlps[m].width, 0, plan.slots, plan.gate_up_floats, plan.activation_elements};
    for (; run.end < mlps.size() && mlps[run.end].width == run.width; ++run.end)
      run.padded = std::max<int64_t>(run.padded, static_cast<int64_t>(mlps[run.end].rows.size()));
    const int64_t run_slots = run.count() * run.padded;
    plan.slots += run_slots;
    plan.gate_up_floats += run_slots * 2 * run.width;
    plan.activation_elements += run_slots * run.width;
    plan.runs.push_back(run);
    m = run.end;
  }
  plan.slot_rows.assign(static_cast<size_t>(plan.slots), 0);
  plan.row_slots.assign(static_cast<size_t>(rows * plan.per_row), -1);
  plan.row_weights.assign(static_cast<size_t>(rows * plan.per_row), 0.0f);
  std::fill(taken.begin(), taken.end(), 0);
  for (const MlpRun& run : plan.runs) {
    for (size_t m = run.begin; m < run.end; ++m) {
      const int64_t first = run.first_slot(m);
      for (size_t i = 0; i < mlps[m].rows.size(); ++i) {
        const int32_t row = mlps[m].rows[i];
        const size_t at = static_cast<size_t>(row * plan.per_row + taken[static_cast<size_t>(row)]++);
        plan.row_slots[at] = static_cast<int32_t>(first + static_cast<int64_t>(i));
        plan.row_weights[at] = mlps[m].weights[i];
        plan.slot_rows[static_cast<size_t>(first) + i] = row;
      }
    }
  }
  return plan;
}

}  // namespace citadel::deepseek_ocr
