#include "runtime/cuda/moe_routing.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;

constexpr int kPerLane = kMaxRoutedExperts / 32;
constexpr int kRouteWarps = 4;  // rows per block of route_top_k
constexpr int kPlanThreads = 1024;  // at most; a warp per 32 rows below that
constexpr int kPlanWarps = kPlanThreads / 32;

// True when score a at expert ia ranks before score b at expert ib.
__device__ __forceinline__ bool ranks_before(float a, int ia, float b, int ib) {
  return a > b || (a == b && ia < ib);
}

// One warp per row: lane l holds experts l, l + 32, ...
__global__ void route_top_k_kernel(const float* logits, int64_t rows, int experts, int k, bool normalize, float scale,
                                   int32_t* expert_out, float* weight_out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRouteWarps + threadIdx.x / 32;
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const float* x = logits + row * experts;
  float score[kPerLane];
  float top = -INFINITY;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + 32 * i;
    score[i] = e < experts ? x[e] : -INFINITY;
    top = fmaxf(top, score[i]);
  }
  top = launch::warp_max(top);
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + 32 * i;
    score[i] = e < experts ? expf(score[i] - top) : 0.0f;
    sum += score[i];
  }
  const float inverse = 1.0f / launch::warp_sum(sum);
  bool taken[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int e = lane + 32 * i;
    score[i] = e < experts ? score[i] * inverse : -1.0f;  // below every real score
    taken[i] = e >= experts;
  }
  float chosen_sum = 0.0f;
  int chosen_expert = 0;
  float chosen_score = 0.0f;  // lane j keeps the j-th choice
  for (int j = 0; j < k; ++j) {
    float best = -2.0f;
    int best_expert = 1 << 30;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      if (!taken[i] && ranks_before(score[i], lane + 32 * i, best, best_expert)) {
        best = score[i];
        best_expert = lane + 32 * i;
      }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, best, offset);
      const int other_expert = __shfl_xor_sync(0xffffffffu, best_expert, offset);
      if (ranks_before(other, other_expert, best, best_expert)) {
        best = other;
        best_expert = other_expert;
      }
    }
#pragma unroll
    for (int i = 0; i < kPerLane; ++i)
      if (lane + 32 * i == best_expert) taken[i] = true;
    chosen_sum += best;
    if (lane == j) {
      chosen_expert = best_expert;
      chosen_score = best;
    }
  }
  if (lane < k) {
    float w = chosen_score;
    if (normalize) w /= chosen_sum + 1e-20f;
    expert_out[row * k + lane] = chosen_expert;
    weight_out[row * k + lane] = w * scale;
  }
}

__global__ void __launch_bounds__(kPlanThreads)
    plan_expert_slots_kernel(const int32_t* expert, const float* weight, int64_t rows, int k, int experts,
                             int shared_groups, int32_t* group_offsets, int32_t* slot_rows, int32_t* row_slots,
                             float* row_weights) {
  __shared__ int count[kMaxRoutedExperts];   // slots of each expert so far (then: placed so far)
  __shared__ int offset[kMaxRoutedExperts];  // each expert's first slot
  __shared__ int warp_base[kPlanWarps][kMaxRoutedExperts];
  __shared__ int shared_offset;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int threads = blockDim.x, warps = threads >> 5;
  const int per_row = k + shared_groups;
  for (int e = tid; e < experts; e += threads) count[e] = 0;
  __syncthreads();
  for (int64_t i = tid; i < rows * k; i += threads) atomicAdd(&count[expert[i]], 1);
  __syncthreads();
  if (tid == 0) {
    int running = 0;
    for (int e = 0; e < experts; ++e) {
      offset[e] = running;
      group_offsets[e] = running;
      running += count[e];
      count[e] = 0;
    }
    shared_offset = running;
    for (int s = 0; s <= shared_groups; ++s) group_offsets[experts + s] = running + static_cast<int>(rows) * s;
  }
  __syncthreads();
  const unsigned lower_lanes = (1u << lane) - 1u;
  for (int64_t tile = 0; tile < rows; tile += threads) {
    const int64_t row = tile + tid;
    const bool valid = row < rows;
    int mine[kMaxExpertsPerRow];
    int rank[kMaxExpertsPerRow];
#pragma unroll
    for (int j = 0; j < kMaxExpertsPerRow; ++j) {
      mine[j] = valid && j < k ? expert[row * k + j] : -1;
      rank[j] = 0;
    }
    // Within the warp: a row's rank among the warp's lower rows that chose
    // the same expert (a row chooses an expert at most once).
    for (int e = 0; e < experts; ++e) {
      bool chose = false;
#pragma unroll
      for (int j = 0; j < kMaxExpertsPerRow; ++j) chose |= mine[j] == e;
      const unsigned mask = __ballot_sync(0xffffffffu, chose);
      if (chose) {
        const int r = __popc(mask & lower_lanes);
#pragma unroll
        for (int j = 0; j < kMaxExpertsPerRow; ++j)
          if (mine[j] == e) rank[j] = r;
      }
      if (lane == 0) warp_base[warp][e] = __popc(mask);
    }
    __syncthreads();
    // Across warps: each expert's earlier warps, after the earlier tiles.
    for (int e = tid; e < experts; e += threads) {
      int running = count[e];
      for (int w = 0; w < warps; ++w) {
        const int here = warp_base[w][e];
        warp_base[w][e] = running;
        running += here;
      }
      count[e] = running;
    }
    __syncthreads();
    if (valid) {
#pragma unroll
      for (int j = 0; j < kMaxExpertsPerRow; ++j) {
        if (j >= k) break;
        const int e = mine[j];
        const int slot = offset[e] + warp_base[warp][e] + rank[j];
        slot_rows[slot] = static_cast<int32_t>(row);
        row_slots[row * per_row + j] = slot;
        row_weights[row * per_row + j] = weight[row * k + j];
      }
      for (int s = 0; s < shared_groups; ++s) {
        const int slot = shared_offset + static_cast<int>(rows) * s + static_cast<int>(row);
        slot_rows[slot] = static_cast<int32_t>(row);
        row_slots[row * per_row + k + s] = slot;
        row_weights[row * per_row + k + s] = 1.0f;
      }
    }
    __syncthreads();
  }
}

}  // namespace

void route_top_k(const float* logits, int64_t rows, int experts, int k, bool normalize, float scale,
                 int32_t* expert, float* weight, void* stream) {
  if (experts <= 0 || experts > kMaxRoutedExperts || k <= 0 || k > experts || k > kMaxExpertsPerRow)
    fail_invalid("route_top_k: " + std::to_string(experts) + " experts, top-" + std::to_string(k) +
                  " (at most " + std::to_string(kMaxRoutedExperts) + " experts and top-" +
                  std::to_string(kMaxExpertsPerRow) + ")");
  if (rows <= 0) return;
  const unsigned blocks = static_cast<unsigned>((rows + kRouteWarps - 1) / kRouteWarps);
  route_top_k_kernel<<<blocks, kRouteWarps * 32, 0, as_stream(stream)>>>(logits, rows, experts, k, normalize, scale,
                                                                         expert, weight);
  check_launch("route_top_k");
}

void plan_expert_slots(const int32_t* expert, const float* weight, int64_t rows, int k, int experts, int shared_groups,
                       int32_t* group_offsets, int32_t* slot_rows, int32_t* row_slots, float* row_weights,
                       void* stream) {
  if (experts <= 0 || experts > kMaxRoutedExperts || k <= 0 || shared_groups < 0 ||
      k + shared_groups > kMaxExpertsPerRow || rows * (k + shared_groups) > INT32_MAX)
    fail_invalid("plan_expert_slots: " + std::to_string(experts) + " experts, top-" + std::to_string(k) + " and " +
                  std::to_string(shared_groups) + " shared groups over " + std::to_string(rows) + " rows");
  const int threads = static_cast<int>(std::min<int64_t>(kPlanThreads, (std::max<int64_t>(rows, 1) + 31) / 32 * 32));
  plan_expert_slots_kernel<<<1, threads, 0, as_stream(stream)>>>(expert, weight, rows, k, experts, shared_groups,
                                                                      group_offsets, slot_rows, row_slots,
                                                                      row_weights);
  check_launch("plan_expert_slots");
}

}  // namespace citadel::runtime::cuda
