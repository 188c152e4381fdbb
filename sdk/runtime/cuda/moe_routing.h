// Mixture-of-experts routing on the GPU, so that a decode step never waits
// for the host between a router GEMM and the experts: each row's softmax
// and greedy top-k over its router logits, then the slot layout that the
// expert GEMMs (expert_gemm.h) and the weighted add-back (expert_rows.h)
// read — every group's rows contiguous and in row order, the same layout
// on every run (no atomics decide an order). Shared experts are groups that
// take every row with weight 1. Called by deepseek-ocr's CUDA decoder
// (cuda_decoder_pass.cpp) and the [cuda] tests. Device pointers; stream is
// a cudaStream_t as void*.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

constexpr int kMaxRoutedExperts = 256;  // router width route_top_k and plan_expert_slots take
constexpr int kMaxExpertsPerRow = 8;    // top-k plus shared groups per row

// For r < rows: softmax of logits [rows, experts] (f32), then the k best
// experts, best first, ties to the lower id (as deepseek-ocr's
// route_from_logits on the host): expert[r * k + j] and weight[r * k + j] =
// its score (divided by the k scores' sum + 1e-20 when `normalize`) times
// `scale`. experts <= kMaxRoutedExperts, 0 < k <= min(experts,
// kMaxExpertsPerRow); throws RuntimeError (INVALID_ARGUMENT) otherwise.
void route_top_k(const float* logits, int64_t rows, int experts, int k, bool normalize, float scale,
                 int32_t* expert, float* weight, void* stream);

// The slots of a routed layer: groups 0..experts-1 are the routed experts,
// groups experts..experts+shared_groups-1 the shared ones (every row).
// With per_row = k + shared_groups (<= kMaxExpertsPerRow):
//   group_offsets[g] .. group_offsets[g + 1] are group g's slots
//     (groups + 1 entries; the last is rows * per_row);
//   slot_rows[s] is the row slot s holds (rows * per_row entries);
//   row_slots[r * per_row + j], row_weights[r * per_row + j]: row r's j-th
//     slot and weight, its routed experts first (in expert[]'s order), then
//     the shared groups with weight 1.
// One block; rows of any count.
void plan_expert_slots(const int32_t* expert, const float* weight, int64_t rows, int k, int experts, int shared_groups,
                       int32_t* group_offsets, int32_t* slot_rows, int32_t* row_slots, float* row_weights,
                       void* stream);

}  // namespace citadel::runtime::cuda
