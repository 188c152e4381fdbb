// kv_layout.h — how llm-gptq lays out its KV cache in the host's cache blocks,
// and what describe() reports for it. Used by the model (llm_model.cpp), the
// forward pass (forward.cpp) and the tests, which allocate blocks themselves.
//
// A block holds kTokensPerBlock (16) positions of one sequence for every
// layer. Inside it, for layer 0..L-1 in order: K as [16, kv_heads, head_dim],
// then V of the same shape (runtime::kv_block_view_for_layer, Citadel's
// standard layout). Elements are f16 by default ("kv_cache_dtype: f16", half
// the memory, within the reference tolerance) or f32 ("kv_cache_dtype: f32").
//   bytes_per_token_per_layer = 2 * kv_heads * head_dim * sizeof(element)
//   block_bytes               = 16 * num_layers * bytes_per_token_per_layer
#pragma once

#include "runtime/core/dtype.h"

#include <cstddef>
#include <cstdint>

namespace citadel::llm {

inline constexpr uint32_t kTokensPerBlock = 16;

struct KvGeometry {
  uint32_t num_layers = 0;
  uint32_t num_kv_heads = 0;
  uint32_t head_dim = 0;
  runtime::DType dtype = runtime::DType::f16;

  uint64_t bytes_per_token_per_layer() const {
    return 2ull * num_kv_heads * head_dim * runtime::dtype_size(dtype);
  }
  uint64_t block_bytes() const {
    return uint64_t{kTokensPerBlock} * num_layers * bytes_per_token_per_layer();
  }
};

}  // namespace citadel::llm
