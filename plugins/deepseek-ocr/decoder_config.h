// decoder_config.h — the DeepSeek-MoE decoder of DeepSeek-OCR as config.json
// describes it: the released checkpoint's `language_config` block (vocabulary,
// widths, heads, RoPE, dense layer 0, routed and shared experts, top-k greedy
// softmax routing). Every size comes from the file; variants the plugin does
// not compute (MLA attention, group-limited routing, sigmoid scoring, RoPE
// scaling) are refused with an error naming the file and field.
// Called by the model (ocr_model.cpp) when an instance is created, and by the
// tests and the benchmark.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace citadel::deepseek_ocr {

struct DecoderConfig {
  uint32_t vocab_size = 0;
  uint32_t hidden_size = 0;
  uint32_t num_layers = 0;
  uint32_t num_heads = 0;
  uint32_t num_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t intermediate_size = 0;      // dense layers (index < first_k_dense_replace)
  uint32_t moe_intermediate_size = 0;  // one routed expert
  uint32_t n_routed_experts = 0;
  uint32_t n_shared_experts = 0;       // fused into one MLP of n_shared * moe_intermediate
  uint32_t experts_per_token = 0;      // top-k
  uint32_t first_k_dense_replace = 0;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  uint32_t max_position_embeddings = 8192;
  int32_t bos_token_id = 0;
  int32_t eos_token_id = 1;

  bool is_moe_layer(uint32_t layer) const { return layer >= first_k_dense_replace && n_routed_experts > 0; }
  uint32_t shared_intermediate() const { return n_shared_experts * moe_intermediate_size; }
};

// Parses config.json text (the released layout: sizes under
// "language_config"); `source` names the file in errors. Throws
// runtime::RuntimeError (INVALID_ARGUMENT or UNSUPPORTED).
DecoderConfig parse_decoder_config(const std::string& config_json, const std::string& source);

// Reads <folder>/config.json.
DecoderConfig load_decoder_config(const std::filesystem::path& folder);

}  // namespace citadel::deepseek_ocr
