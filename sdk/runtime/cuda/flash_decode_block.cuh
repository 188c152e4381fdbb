// What the two flash-decoding kernels share (flash_decode.cu: lanes of
// CUDA cores, any sm; flash_decode_mma.cu: tensor cores, sm_80 on): the
// launch parameters, the block shape (4 warps on one KV head of one row and
// one split of its positions), the base-2 rescale, and the block's end, which
// merges the online softmax states of its warps and writes the output (one
// split) or the split's partial state to scratch for the combine kernel.
// CUDA sources only.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace citadel::runtime::cuda::flash_decoding {

constexpr int kWarps = 4;
constexpr int kMaxGroup = 8;

struct Params {
  const float* q;
  void* const* tables;
  const int32_t* lengths;
  float* scratch;  // [rows, heads, splits, head_dim + 2]: output sum, max (base 2), denominator
  float* out;
  int64_t table_stride;
  int64_t num_heads;
  int64_t num_kv_heads;
  int64_t tokens_per_block;
  size_t k_offset, v_offset;
  int64_t positions_per_split;
  int32_t splits;
  int32_t group;
  float score_scale;  // scale * log2(e): scores, maxima and exponents in base 2
};

// e^(m - best) in base 2, 0 for a state that saw no position (m = -inf).
__device__ __forceinline__ float rescale(float m, float best) { return m == -INFINITY ? 0.0f : exp2f(m - best); }

// Each warp's state for query head g of the block's KV head: the
// unnormalized sums [kWarps][G][HD], maxima and denominators [kWarps][G]
// (shared memory, written by the warps before a __syncthreads). Combines
// the warps and writes out (one split) or the split's partial to scratch.
template <int HD, int G>
__device__ __forceinline__ void finish_block(const Params& p, const float (*sums)[G][HD], const float (*maxes)[G],
                                             const float (*denominators)[G], int64_t row, int64_t kv_head, int split) {
  for (int index = threadIdx.x; index < G * HD; index += kWarps * 32) {
    const int g = index / HD, d = index % HD;
    if (g >= p.group) continue;
    float best = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) best = fmaxf(best, maxes[w][g]);
    float total = 0.0f, sum = 0.0f;
    if (best != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float factor = rescale(maxes[w][g], best);
        total += denominators[w][g] * factor;
        sum += sums[w][g][d] * factor;
      }
    }
    const int64_t head = kv_head * p.group + g;
    if (p.splits == 1) {
      p.out[(row * p.num_heads + head) * HD + d] = total > 0.0f ? sum / total : 0.0f;
    } else {
      float* partial = p.scratch + ((row * p.num_heads + head) * p.splits + split) * (HD + 2);
      partial[d] = sum;
      if (d == 0) {
        partial[HD] = best;
        partial[HD + 1] = total;
      }
    }
  }
}

}  // namespace citadel::runtime::cuda::flash_decoding
