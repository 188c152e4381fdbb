// AVX-512 loop of one paged_attention task (attention.cpp picks it at run
// time when detail::use_avx512_kernels(), the cache is f16 and head_dim is
// a multiple of 16 up to 128): the `group` query heads that share one KV
// head, against every cached position of one token. Each K and V row is
// converted from f16 once (F16C) into registers and used by the whole group,
// the dot products in f32 FMA lanes reduced 16 positions at a time, the
// weighted sums of V kept in registers for the group; the portable
// loop converts each row into memory and works in 4-wide SSE lanes. Same
// softmax (max subtracted, std::exp, one division at the end).
// Internal to sdk/runtime/kernels. x86-64 only (absent elsewhere).
#pragma once

#include <cstddef>
#include <cstdint>

namespace citadel::runtime::detail {

struct AttentionTaskF16 {
  const float* queries = nullptr;  // group rows of head_dim
  int64_t group = 0, head_dim = 0;
  int64_t length = 0;  // positions [0, length) attended
  void* const* blocks = nullptr;
  int64_t tokens_per_block = 0;
  size_t k_offset = 0, v_offset = 0;  // bytes from a block's base to this KV head's K / V of slot 0
  size_t slot_bytes = 0;              // bytes from one slot's K (or V) to the next slot's
  float scale = 1.0f;
  float* out = nullptr;  // group rows of head_dim
};

// Whether the AVX-512 loop takes tasks of this head size and group (at most
// 16 query heads a KV head), and the CPU runs it.
bool attention_f16_avx512_takes(int64_t head_dim, int64_t group);

// `scores`: group * length floats of scratch.
void attention_task_f16_avx512(const AttentionTaskF16& task, float* scores);

}  // namespace citadel::runtime::detail
