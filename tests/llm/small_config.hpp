// A small Llama-family config (2 layers, hidden 64, 4 heads / 2 KV heads)
// for the llm tests that build random-weight models in memory.
#pragma once

#include "hf_config.h"

#include <string>

namespace citadel::test {

// model_type "llama", "qwen2" (q/k/v biases) or "qwen3" (q/k norm, head_dim 32).
// With `quantized`: GPTQ 4-bit, group 32, sym, v1.
inline llm::HfModelConfig small_llm_config(const std::string& model_type, uint32_t vocab_size, bool quantized) {
  llm::HfModelConfig config;
  config.model_type = model_type;
  config.hidden_size = 64;
  config.intermediate_size = 128;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = model_type == "qwen3" ? 32 : 16;
  config.qk_norm = model_type == "qwen3";
  config.attention_bias = model_type == "qwen2";
  config.vocab_size = vocab_size;
  config.max_position_embeddings = 256;
  if (quantized) {
    config.gptq = llm::GptqSettings{};
    config.gptq->group_size = 32;
  }
  return config;
}

}  // namespace citadel::test
