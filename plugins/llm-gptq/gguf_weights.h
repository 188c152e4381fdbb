// gguf_weights.h — the tensors of a GGUF model (llama.cpp names: token_embd,
// blk.N.attn_q/k/v/output, ffn_gate/up/down, attn_norm, ffn_norm, Qwen2's
// q/k/v biases, Qwen3's attn_q_norm/attn_k_norm, output_norm, output or the
// tied token_embd) as the forward pass's ModelWeights, read in place from
// the mapping in their stored types (no conversion; norms and biases are
// copied to f32). For architecture llama the Q and K rows, which llama.cpp's
// converter interleaves for its RoPE, are read in Hugging Face order (the
// inverse permutation transformers' GGUF loader applies). Shape or type
// mismatches throw runtime::RuntimeError naming the file and tensor.
// Called by the GGUF loader (gguf_model.cpp) and the tests.
#pragma once

#include "hf_config.h"
#include "weights.h"

#include "runtime/formats/gguf_file.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace citadel::llm {

ModelWeights load_gguf_weights(const HfModelConfig& config, std::shared_ptr<const runtime::GgufFile> file);

// For output row r of a llama.cpp-permuted Q/K weight (heads x head_dim
// rows), the stored row that holds Hugging Face row r.
std::vector<int32_t> llama_rope_row_order(int64_t heads, int64_t head_dim);

}  // namespace citadel::llm
