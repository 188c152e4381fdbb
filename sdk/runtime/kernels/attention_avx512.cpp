// AVX-512 loop of one paged_attention task (attention_avx512.h). Compiled
// with per-function target attributes; called only after the run-time check.
#include "runtime/kernels/attention_avx512.h"

#include "runtime/kernels/tile_matmul.h"

#include <algorithm>
#include <cmath>

#include "runtime/kernels/avx512_intrinsics.h"

namespace citadel::runtime::detail {

#ifdef CITADEL_X86_64
namespace {

constexpr int64_t kMaxChunks = 8;  // head_dim up to 128
constexpr int64_t kMaxGroup = 16;  // query heads a KV head

// The K or V row of one slot as kChunks vectors of 16 f32 lanes.
template <int kChunks>
CITADEL_AVX512 inline void load_row(const uint8_t* row, __m512 (&lanes)[kChunks]) {
  const auto* halves = reinterpret_cast<const __m256i*>(row);
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) lanes[c] = _mm512_cvtph_ps(_mm256_loadu_si256(halves + c));
}

// scores[g * length + p] = scale * q_g . K row p, and max[g] their maximum:
// each K row converted once for the group, the rows walked block by block
// (no division a position).
template <int kChunks>
CITADEL_AVX512 void score_rows(const AttentionTaskF16& task, float* scores, float* max) {
  const int64_t group = task.group, length = task.length;
  int64_t p = 0;
  for (int64_t block = 0; p < task.length; ++block) {
    const uint8_t* row = static_cast<const uint8_t*>(task.blocks[block]) + task.k_offset;
    const int64_t end = std::min(length, p + task.tokens_per_block);
    for (; p < end; ++p, row += task.slot_bytes) {
      __m512 k[kChunks];
      load_row<kChunks>(row, k);
      for (int64_t g = 0; g < group; ++g) {
        const float* q = task.queries + g * task.head_dim;
        __m512 sum = _mm512_mul_ps(_mm512_loadu_ps(q), k[0]);
#pragma GCC unroll 8
        for (int c = 1; c < kChunks; ++c) sum = _mm512_fmadd_ps(_mm512_loadu_ps(q + 16 * c), k[c], sum);
        const float s = _mm512_reduce_add_ps(sum) * task.scale;
        scores[g * length + p] = s;
        max[g] = std::max(max[g], s);
      }
    }
  }
}

// acc[g] += weights[g * length + p] * V row p for every p, each row
// converted once for the group.
template <int kChunks>
CITADEL_AVX512 void weigh_rows(const AttentionTaskF16& task, const float* weights, float* acc) {
  const int64_t group = task.group, length = task.length;
  int64_t p = 0;
  for (int64_t block = 0; p < task.length; ++block) {
    const uint8_t* row = static_cast<const uint8_t*>(task.blocks[block]) + task.v_offset;
    const int64_t end = std::min(length, p + task.tokens_per_block);
    for (; p < end; ++p, row += task.slot_bytes) {
      __m512 v[kChunks];
      load_row<kChunks>(row, v);
      for (int64_t g = 0; g < group; ++g) {
        const __m512 weight = _mm512_set1_ps(weights[g * length + p]);
        float* a = acc + g * task.head_dim;
#pragma GCC unroll 8
        for (int c = 0; c < kChunks; ++c)
          _mm512_storeu_ps(a + 16 * c, _mm512_fmadd_ps(weight, v[c], _mm512_loadu_ps(a + 16 * c)));
      }
    }
  }
}

template <int kChunks>
CITADEL_AVX512 void run_task(const AttentionTaskF16& task, float* scores, float* acc) {
  const int64_t group = task.group, length = task.length, head_dim = task.head_dim;
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
  std::fill(acc, acc + group * head_dim, 0.0f);
  weigh_rows<kChunks>(task, scores, acc);
  for (int64_t g = 0; g < group; ++g) {
    const __m512 scale = _mm512_set1_ps(inverse[g]);
    const float* a = acc + g * head_dim;
    for (int c = 0; c < kChunks; ++c)
      _mm512_storeu_ps(task.out + g * head_dim + 16 * c, _mm512_mul_ps(_mm512_loadu_ps(a + 16 * c), scale));
  }
}

}  // namespace

bool attention_f16_avx512_takes(int64_t head_dim, int64_t group) {
  return head_dim % 16 == 0 && head_dim / 16 >= 1 && head_dim / 16 <= kMaxChunks && group >= 1 &&
         group <= kMaxGroup && use_avx512_kernels();
}

void attention_task_f16_avx512(const AttentionTaskF16& task, float* scores, float* acc) {
  switch (task.head_dim / 16) {
    case 1: return run_task<1>(task, scores, acc);
    case 2: return run_task<2>(task, scores, acc);
    case 3: return run_task<3>(task, scores, acc);
    case 4: return run_task<4>(task, scores, acc);
    case 5: return run_task<5>(task, scores, acc);
    case 6: return run_task<6>(task, scores, acc);
    case 7: return run_task<7>(task, scores, acc);
    case 8: return run_task<8>(task, scores, acc);
    default: break;
  }
}

#else  // not x86-64: never taken

bool attention_f16_avx512_takes(int64_t, int64_t) { return false; }
void attention_task_f16_avx512(const AttentionTaskF16&, float*, float*) {}

#endif

}  // namespace citadel::runtime::detail
