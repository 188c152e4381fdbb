// AVX-512 loop of one paged_attention task (attention_avx512.h). Compiled
// with per-function target attributes; called only after the run-time check.
#include "runtime/kernels/attention_avx512.h"

#include "runtime/kernels/tile_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/kernels/avx512_intrinsics.h"

namespace citadel::runtime::detail {

#ifdef CITADEL_X86_64
namespace {

constexpr int64_t kMaxChunks = 8;  // head_dim up to 128
constexpr int64_t kMaxGroup = 16;  // query heads a KV head

// How many slots ahead of the row being read its cache lines are fetched:
// a head's row is one or two lines, a slot's stride several heads' rows, a
// pattern the hardware prefetchers follow late.
constexpr int64_t kPrefetchSlots = 8;

// The K or V row of one slot as kChunks vectors of 16 f32 lanes; starts
// fetching the row kPrefetchSlots slots further on (`stride` bytes a slot).
template <int kChunks>
CITADEL_AVX512 inline void load_row(const uint8_t* row, size_t stride, __m512 (&lanes)[kChunks]) {
  // An address, not a pointer: the slot ahead may lie past the block.
  const uintptr_t ahead = reinterpret_cast<uintptr_t>(row) + kPrefetchSlots * stride;
#pragma GCC unroll 4
  for (int line = 0; line < (kChunks * 32 + 63) / 64; ++line) {
    _mm_prefetch(reinterpret_cast<const char*>(ahead + 64 * line), _MM_HINT_T0);
  }
  const auto* halves = reinterpret_cast<const __m256i*>(row);
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) lanes[c] = _mm512_cvtph_ps(_mm256_loadu_si256(halves + c));
}

// The 16 horizontal sums of sums[0..16) (each 16 lanes) as one vector:
// lane i is the sum of sums[i]'s lanes. Three levels of shuffles and adds
// (45 instructions) where 16 separate reductions take about 130.
CITADEL_AVX512 inline __m512 sum_each_of_16(const __m512* sums) {
  // Pairs (a = sums[2i], b = sums[2i+1]): in every 128-bit lane,
  // [a0+a2, b0+b2, a1+a3, b1+b3].
  __m512 pairs[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(sums[2 * i], sums[2 * i + 1]),
                             _mm512_unpackhi_ps(sums[2 * i], sums[2 * i + 1]));
  }
  // Quads: 128-bit lane k of quads[j] holds lane k's partial sum of
  // sums[4j], sums[4j+1], sums[4j+2], sums[4j+3], in that order.
  __m512 quads[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    quads[j] = _mm512_add_ps(_mm512_shuffle_ps(pairs[2 * j], pairs[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(pairs[2 * j], pairs[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // The four 128-bit lanes of each quad added: lane j of the result is
  // quads[j]'s total.
  const __m512 half01 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[0], quads[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_f32x4(quads[0], quads[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 half23 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2], quads[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_f32x4(quads[2], quads[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(half01, half23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(half01, half23, _MM_SHUFFLE(3, 1, 3, 1)));
}

// The lane sums of q_g . K row, for each query head g of the group.
template <int kChunks>
CITADEL_AVX512 inline __m512 dot_lanes(const float* q, const __m512 (&k)[kChunks]) {
  __m512 sum = _mm512_mul_ps(_mm512_loadu_ps(q), k[0]);
#pragma GCC unroll 8
  for (int c = 1; c < kChunks; ++c) sum = _mm512_fmadd_ps(_mm512_loadu_ps(q + 16 * c), k[c], sum);
  return sum;
}

// scores[g * length + p] = scale * q_g . K row p, and max[g] their maximum:
// each K row converted once for the group, the rows walked block by block
// (no division a position). Runs of 16 positions in a block are reduced
// together (sum_each_of_16), the rest one at a time.
template <int kChunks>
CITADEL_AVX512 void score_rows(const AttentionTaskF16& task, float* scores, float* max) {
  const int64_t group = task.group, length = task.length;
  alignas(64) float lanes[kMaxGroup * 16 * 16];  // [g][position of the run][lane]
  const __m512 scale = _mm512_set1_ps(task.scale);
  int64_t p = 0;
  for (int64_t block = 0; p < task.length; ++block) {
    const uint8_t* row = static_cast<const uint8_t*>(task.blocks[block]) + task.k_offset;
    const int64_t end = std::min(length, p + task.tokens_per_block);
    for (; end - p >= 16; p += 16) {
      for (int i = 0; i < 16; ++i, row += task.slot_bytes) {
        __m512 k[kChunks];
        load_row<kChunks>(row, task.slot_bytes, k);
        for (int64_t g = 0; g < group; ++g) {
          _mm512_store_ps(lanes + (g * 16 + i) * 16, dot_lanes<kChunks>(task.queries + g * task.head_dim, k));
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        __m512 sums[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) sums[i] = _mm512_load_ps(lanes + (g * 16 + i) * 16);
        const __m512 run = _mm512_mul_ps(sum_each_of_16(sums), scale);
        _mm512_storeu_ps(scores + g * length + p, run);
        max[g] = std::max(max[g], _mm512_reduce_max_ps(run));
      }
    }
    for (; p < end; ++p, row += task.slot_bytes) {
      __m512 k[kChunks];
      load_row<kChunks>(row, task.slot_bytes, k);
      for (int64_t g = 0; g < group; ++g) {
        const float s = _mm512_reduce_add_ps(dot_lanes<kChunks>(task.queries + g * task.head_dim, k)) * task.scale;
        scores[g * length + p] = s;
        max[g] = std::max(max[g], s);
      }
    }
  }
}

// Query heads whose V sums stay in registers at once: kTile * kChunks
// accumulators, a V row and a weight within the 32 vector registers.
template <int kChunks>
constexpr int kGroupTile = std::min<int>(kMaxGroup, (28 - kChunks) / kChunks);

// out[g] = inverse[g] * sum_p weights[g * length + p] * V row p, for the
// query heads [g0, g0 + count) (count <= kGroupTile): the sums in registers,
// each V row converted once for them.
template <int kChunks>
CITADEL_AVX512 void weigh_rows(const AttentionTaskF16& task, const float* weights, const float* inverse, int64_t g0,
                               int64_t count) {
  constexpr int kTile = kGroupTile<kChunks>;
  const int64_t length = task.length;
  __m512 acc[kTile][kChunks];
#pragma GCC unroll 16
  for (int g = 0; g < kTile; ++g) {
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) acc[g][c] = _mm512_setzero_ps();
  }
  const float* w = weights + g0 * length;
  int64_t p = 0;
  for (int64_t block = 0; p < task.length; ++block) {
    const uint8_t* row = static_cast<const uint8_t*>(task.blocks[block]) + task.v_offset;
    const int64_t end = std::min(length, p + task.tokens_per_block);
    for (; p < end; ++p, row += task.slot_bytes) {
      __m512 v[kChunks];
      load_row<kChunks>(row, task.slot_bytes, v);
#pragma GCC unroll 16
      for (int g = 0; g < kTile; ++g) {
        if (g >= count) break;
        const __m512 weight = _mm512_set1_ps(w[g * length + p]);
#pragma GCC unroll 8
        for (int c = 0; c < kChunks; ++c) acc[g][c] = _mm512_fmadd_ps(weight, v[c], acc[g][c]);
      }
    }
  }
#pragma GCC unroll 16
  for (int g = 0; g < kTile; ++g) {
    if (g >= count) break;
    const __m512 scale = _mm512_set1_ps(inverse[g0 + g]);
    float* out = task.out + (g0 + g) * task.head_dim;
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(acc[g][c], scale));
  }
}

template <int kChunks>
CITADEL_AVX512 void run_task(const AttentionTaskF16& task, float* scores) {
  const int64_t group = task.group, length = task.length;
  float max[kMaxGroup];
  std::fill(max, max + group, -INFINITY);
  score_rows<kChunks>(task, scores, max);
  float inverse[kMaxGroup];
  for (int64_t g = 0; g < group; ++g) {
    float total = 0.0f;
    float* row = scores + g * length;
    for (int64_t p = 0; p < length; ++p) total += (row[p] = std::exp(row[p] - max[g]));
    inverse[g] = 1.0f / total;
  }
  for (int64_t g0 = 0; g0 < group; g0 += kGroupTile<kChunks>) {
    weigh_rows<kChunks>(task, scores, inverse, g0, std::min<int64_t>(kGroupTile<kChunks>, group - g0));
  }
}

}  // namespace

bool attention_f16_avx512_takes(int64_t head_dim, int64_t group) {
  return head_dim % 16 == 0 && head_dim / 16 >= 1 && head_dim / 16 <= kMaxChunks && group >= 1 &&
         group <= kMaxGroup && use_avx512_kernels();
}

void attention_task_f16_avx512(const AttentionTaskF16& task, float* scores) {
  switch (task.head_dim / 16) {
    case 1: return run_task<1>(task, scores);
    case 2: return run_task<2>(task, scores);
    case 3: return run_task<3>(task, scores);
    case 4: return run_task<4>(task, scores);
    case 5: return run_task<5>(task, scores);
    case 6: return run_task<6>(task, scores);
    case 7: return run_task<7>(task, scores);
    case 8: return run_task<8>(task, scores);
    default: break;
  }
}

#else  // not x86-64: never taken

bool attention_f16_avx512_takes(int64_t, int64_t) { return false; }
void attention_task_f16_avx512(const AttentionTaskF16&, float*) {}

#endif

}  // namespace citadel::runtime::detail
