// expert_batch_plan.h — where the rows of one feed-forward step go on the
// GPU: the MLPs a layer runs (its routed experts, the shared experts, or the
// dense MLP), each given some rows with a weight, laid out as one
// expert-ordered matrix of slots. Consecutive MLPs of one width form a run
// that cuda_decoder_pass.cpp computes with one batched GEMM per projection,
// so each MLP of a run gets the run's largest row count (padding slots
// gather row 0 and no row reads them back). Host-side arithmetic only, so
// the CPU tests check it; used by the CUDA decoder pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace citadel::deepseek_ocr {

// The rows one MLP takes and the weight of its output in each.
struct MlpAssignment {
  int64_t width = 0;  // intermediate width (gate/up outputs)
  std::vector<int32_t> rows;
  std::vector<float> weights;
};

// MLPs [begin, end) of one width: `padded` slots each, starting at slot
// `slot`, at float `gate_up` of the gate/up output ([slot, 2 x width]) and
// at element `activation` of the down input ([slot, width]).
struct MlpRun {
  size_t begin = 0, end = 0;
  int64_t width = 0, padded = 0, slot = 0, gate_up = 0, activation = 0;
  int64_t count() const { return static_cast<int64_t>(end - begin); }
  // The first slot of MLP `m` (begin <= m < end).
  int64_t first_slot(size_t m) const { return slot + static_cast<int64_t>(m - begin) * padded; }
};

struct ExpertBatchPlan {
  std::vector<MlpRun> runs;
  int64_t slots = 0, gate_up_floats = 0, activation_elements = 0;
  std::vector<int32_t> slot_rows;  // [slots]: the row gathered into each slot
  int64_t per_row = 0;             // most MLPs any row takes
  std::vector<int32_t> row_slots;  // [rows x per_row]: a row's slots in MLP order, -1 unused
  std::vector<float> row_weights;  // [rows x per_row]
};

// Throws std::invalid_argument when a row is outside [0, rows) or an MLP's
// weights do not match its rows.
ExpertBatchPlan plan_expert_batch(std::span<const MlpAssignment> mlps, int64_t rows);

}  // namespace citadel::deepseek_ocr
