// hf_config.h — the model architecture and GPTQ settings read from a Hugging
// Face model folder (config.json, optionally quantize_config.json).
//
// Called by the weight loader and the model (llm_model.cpp) when an instance
// is created, and by tests. Understands Llama (incl. llama3 RoPE scaling),
// Mistral, Qwen2 (q/k/v bias) and Qwen3 (q/k RMSNorm, explicit head_dim), in
// both the older (rope_theta, rope_scaling, torch_dtype) and newer
// (rope_parameters, dtype) spellings. Unsupported variants throw
// HfConfigError naming the file and field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace citadel::llm {

class HfConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class RopeScalingKind { none, linear, llama3 };

struct RopeSettings {
  double theta = 10000.0;
  RopeScalingKind scaling = RopeScalingKind::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  uint32_t original_max_position_embeddings = 8192;  // llama3
};

// GPTQ checkpoint format: v1 stores zero points minus one, v2 stores them as is.
enum class GptqCheckpointFormat { gptq_v1, gptq_v2 };

struct GptqSettings {
  uint32_t bits = 4;         // 4 or 8
  int32_t group_size = 128;  // 32/64/128/..., -1 = one group per input row set
  bool sym = true;
  bool desc_act = false;
  GptqCheckpointFormat format = GptqCheckpointFormat::gptq_v1;
};

enum class WeightDtype { float16, bfloat16, float32 };

struct HfModelConfig {
  std::string model_type;  // "llama", "mistral", "qwen2", "qwen3"
  uint32_t hidden_size = 0;
  uint32_t intermediate_size = 0;
  uint32_t num_layers = 0;
  uint32_t num_heads = 0;
  uint32_t num_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t vocab_size = 0;
  uint32_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  RopeSettings rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2)
  bool qk_norm = false;         // RMSNorm over q and k heads (Qwen3)
  WeightDtype dtype = WeightDtype::float16;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // config.json's, plus generation_config.json's
  std::optional<GptqSettings> gptq;  // absent: unquantized checkpoint
};

// Parses config.json text; quantize_config_json (may be empty) is the text of
// a separate quantize_config.json. `source` names the file in errors.
HfModelConfig parse_hf_config(const std::string& config_json,
                              const std::string& quantize_config_json = {},
                              const std::string& source = "config.json");

// Reads <folder>/config.json and, when present, <folder>/quantize_config.json
// and the eos_token_id of <folder>/generation_config.json.
HfModelConfig load_hf_config(const std::filesystem::path& folder);

const char* to_string(WeightDtype dtype);

}  // namespace citadel::llm
