// Paged causal attention with GQA over KvBlockView, and cache writes.
#include "runtime/kernels/attention.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/attention_avx512.h"
#include "runtime/kernels/vector_ops.h"

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <vector>

namespace citadel::runtime {
namespace {

// Address of the K (or V) vector of `position`, kv head `kv_head`.
uint8_t* kv_address(const KvBlockView& kv, size_t offset, int64_t position, int64_t kv_head) {
  const int64_t block = position / kv.tokens_per_block;
  const int64_t slot = position % kv.tokens_per_block;
  const size_t element = dtype_size(kv.dtype);
  auto* base = static_cast<uint8_t*>(kv.blocks[block]);
  return base + offset + static_cast<size_t>((slot * kv.num_kv_heads + kv_head) * kv.head_dim) * element;
}

void load_vector(const KvBlockView& kv, const uint8_t* address, float* out) {
  if (kv.dtype == DType::f32) {
    const auto* src = reinterpret_cast<const float*>(address);
    std::copy(src, src + kv.head_dim, out);
  } else if (kv.dtype == DType::bf16) {
    const auto* src = reinterpret_cast<const uint16_t*>(address);
    for (int64_t i = 0; i < kv.head_dim; ++i) out[i] = bfloat16_to_float(src[i]);
  } else {
    half_to_float(reinterpret_cast<const uint16_t*>(address), out, static_cast<size_t>(kv.head_dim));
  }
}

void check_view(const KvBlockView& kv, int64_t positions_needed, const char* what) {
  if (kv.dtype != DType::f16 && kv.dtype != DType::f32 && kv.dtype != DType::bf16) {
    throw_unsupported(std::string(what) + ": KV cache dtype " + std::string(dtype_name(kv.dtype)) +
                      " is not supported (f16, bf16, f32)");
  }
  if (kv.tokens_per_block <= 0 || kv.num_kv_heads <= 0 || kv.head_dim <= 0) {
    throw_invalid(std::string(what) + ": KvBlockView has an empty geometry");
  }
  if (positions_needed > kv.capacity_tokens()) {
    throw_invalid(std::string(what) + ": positions up to " + std::to_string(positions_needed) +
                  " need more than the " + std::to_string(kv.num_blocks) + " blocks of " +
                  std::to_string(kv.tokens_per_block) + " tokens given");
  }
}

}  // namespace

size_t kv_bytes_per_token_per_layer(int64_t num_kv_heads, int64_t head_dim, DType dtype) {
  return 2 * static_cast<size_t>(num_kv_heads * head_dim) * dtype_size(dtype);
}

KvBlockView kv_block_view_for_layer(void* const* blocks, int64_t num_blocks, int64_t tokens_per_block,
                                    int64_t layer, int64_t num_kv_heads, int64_t head_dim, DType dtype) {
  KvBlockView view;
  view.blocks = blocks;
  view.num_blocks = num_blocks;
  view.tokens_per_block = tokens_per_block;
  view.num_kv_heads = num_kv_heads;
  view.head_dim = head_dim;
  view.dtype = dtype;
  const size_t one_side = static_cast<size_t>(tokens_per_block * num_kv_heads * head_dim) * dtype_size(dtype);
  view.k_offset = static_cast<size_t>(layer) * 2 * one_side;
  view.v_offset = view.k_offset + one_side;
  return view;
}

void* kv_token_slot(void* const* blocks, int64_t tokens_per_block, int64_t position, int64_t num_kv_heads,
                    int64_t head_dim, DType dtype) {
  const size_t row_bytes = static_cast<size_t>(num_kv_heads * head_dim) * dtype_size(dtype);
  return static_cast<std::byte*>(blocks[position / tokens_per_block]) +
         static_cast<size_t>(position % tokens_per_block) * row_bytes;
}

KvBlockView kv_slot_view_for_layer(void* const* slots, int64_t num_slots, int64_t tokens_per_block, int64_t layer,
                                   int64_t num_kv_heads, int64_t head_dim, DType dtype) {
  // The layer offsets of the real block size; then one token per "block".
  KvBlockView view = kv_block_view_for_layer(slots, num_slots, tokens_per_block, layer, num_kv_heads, head_dim, dtype);
  view.tokens_per_block = 1;
  return view;
}

void kv_cache_write(const KvBlockView& kv, int64_t first_position, int64_t num_tokens, const float* k,
                    const float* v) {
  check_view(kv, first_position + num_tokens, "kv_cache_write");
  for (int64_t t = 0; t < num_tokens; ++t) {
    for (int64_t h = 0; h < kv.num_kv_heads; ++h) {
      const float* k_src = k + (t * kv.num_kv_heads + h) * kv.head_dim;
      const float* v_src = v + (t * kv.num_kv_heads + h) * kv.head_dim;
      uint8_t* k_dst = kv_address(kv, kv.k_offset, first_position + t, h);
      uint8_t* v_dst = kv_address(kv, kv.v_offset, first_position + t, h);
      if (kv.dtype == DType::f32) {
        std::copy(k_src, k_src + kv.head_dim, reinterpret_cast<float*>(k_dst));
        std::copy(v_src, v_src + kv.head_dim, reinterpret_cast<float*>(v_dst));
      } else if (kv.dtype == DType::bf16) {
        auto* k_out = reinterpret_cast<uint16_t*>(k_dst);
        auto* v_out = reinterpret_cast<uint16_t*>(v_dst);
        for (int64_t i = 0; i < kv.head_dim; ++i) {
          k_out[i] = float_to_bfloat16(k_src[i]);
          v_out[i] = float_to_bfloat16(v_src[i]);
        }
      } else {
        float_to_half(k_src, reinterpret_cast<uint16_t*>(k_dst), static_cast<size_t>(kv.head_dim));
        float_to_half(v_src, reinterpret_cast<uint16_t*>(v_dst), static_cast<size_t>(kv.head_dim));
      }
    }
  }
}

void kv_cache_read(const KvBlockView& kv, int64_t first_position, int64_t num_tokens, float* k, float* v) {
  check_view(kv, first_position + num_tokens, "kv_cache_read");
  for (int64_t t = 0; t < num_tokens; ++t) {
    for (int64_t h = 0; h < kv.num_kv_heads; ++h) {
      load_vector(kv, kv_address(kv, kv.k_offset, first_position + t, h), k + (t * kv.num_kv_heads + h) * kv.head_dim);
      load_vector(kv, kv_address(kv, kv.v_offset, first_position + t, h), v + (t * kv.num_kv_heads + h) * kv.head_dim);
    }
  }
}

void paged_attention(ThreadPool& pool, const float* q, int64_t num_tokens, int64_t num_heads,
                     int64_t first_position, const KvBlockView& kv, float scale, float* out) {
  check_view(kv, first_position + num_tokens, "paged_attention");
  if (num_heads % kv.num_kv_heads != 0) {
    throw_invalid("paged_attention: " + std::to_string(num_heads) + " query heads are not a multiple of " +
                  std::to_string(kv.num_kv_heads) + " KV heads");
  }
  // One task per (token, kv head): each K/V vector is loaded (and converted
  // from f16) once for the `group` query heads that share it.
  const int64_t group = num_heads / kv.num_kv_heads;
  const int64_t head_dim = kv.head_dim;
  const bool avx512 = kv.dtype == DType::f16 && detail::attention_f16_avx512_takes(head_dim, group);
  pool.parallel_for(0, num_tokens * kv.num_kv_heads, [&](int64_t task_begin, int64_t task_end) {
    std::vector<float> scores, vector(static_cast<size_t>(head_dim)), acc;
    std::vector<float> max(static_cast<size_t>(group)), sum(static_cast<size_t>(group));
    for (int64_t task = task_begin; task < task_end; ++task) {
      const int64_t t = task / kv.num_kv_heads, kv_head = task % kv.num_kv_heads;
      const int64_t length = first_position + t + 1;
      const float* queries = q + (t * num_heads + kv_head * group) * head_dim;
      scores.resize(static_cast<size_t>(group * length));
      if (avx512) {
        const size_t head_bytes = static_cast<size_t>(kv_head * head_dim) * sizeof(uint16_t);
        detail::AttentionTaskF16 job;
        job.queries = queries;
        job.group = group;
        job.head_dim = head_dim;
        job.length = length;
        job.blocks = kv.blocks;
        job.tokens_per_block = kv.tokens_per_block;
        job.k_offset = kv.k_offset + head_bytes;
        job.v_offset = kv.v_offset + head_bytes;
        job.slot_bytes = static_cast<size_t>(kv.num_kv_heads * head_dim) * sizeof(uint16_t);
        job.scale = scale;
        job.out = out + (t * num_heads + kv_head * group) * head_dim;
        detail::attention_task_f16_avx512(job, scores.data());
        continue;
      }
      std::fill(max.begin(), max.end(), -INFINITY);
      for (int64_t p = 0; p < length; ++p) {
        load_vector(kv, kv_address(kv, kv.k_offset, p, kv_head), vector.data());
        for (int64_t g = 0; g < group; ++g) {
          const float s = detail::dot(queries + g * head_dim, vector.data(), head_dim) * scale;
          scores[static_cast<size_t>(g * length + p)] = s;
          max[static_cast<size_t>(g)] = std::max(max[static_cast<size_t>(g)], s);
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        float total = 0.0f;
        float* row = scores.data() + g * length;
        for (int64_t p = 0; p < length; ++p) total += (row[p] = std::exp(row[p] - max[static_cast<size_t>(g)]));
        sum[static_cast<size_t>(g)] = total;
      }
      acc.assign(static_cast<size_t>(group * head_dim), 0.0f);
      for (int64_t p = 0; p < length; ++p) {
        load_vector(kv, kv_address(kv, kv.v_offset, p, kv_head), vector.data());
        for (int64_t g = 0; g < group; ++g) {
          detail::axpy(scores[static_cast<size_t>(g * length + p)], vector.data(), acc.data() + g * head_dim, head_dim);
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        float* o = out + (t * num_heads + kv_head * group + g) * head_dim;
        const float inverse = 1.0f / sum[static_cast<size_t>(g)];
        for (int64_t d = 0; d < head_dim; ++d) o[d] = acc[static_cast<size_t>(g * head_dim + d)] * inverse;
      }
    }
  });
}

}  // namespace citadel::runtime
