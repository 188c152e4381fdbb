// Reading the decoder's sizes from config.json's language_config.
#include "decoder_config.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

#include <fstream>
#include <sstream>

namespace citadel::deepseek_ocr {
namespace {

namespace json = boost::json;

uint32_t positive(const json::object& object, const char* key, const std::string& where,
                  std::optional<uint32_t> fallback = std::nullopt) {
  const std::optional<int64_t> value = runtime::optional_int(object, key, where);
  if (!value) {
    if (fallback) return *fallback;
    runtime::throw_invalid(where + ": field \"" + key + "\" is missing");
  }
  if (*value <= 0 || *value > UINT32_MAX)
    runtime::throw_invalid(where + ": field \"" + key + "\" is " + std::to_string(*value) + "; expected a positive integer");
  return static_cast<uint32_t>(*value);
}

void expect_string(const json::object& object, const char* key, const std::string& where, const char* expected) {
  const std::optional<std::string> value = runtime::optional_string(object, key, where);
  if (value && *value != expected)
    runtime::throw_unsupported(where + ": field \"" + key + "\" is \"" + *value + "\"; the deepseek-ocr plugin computes \"" +
                               expected + "\" only");
}

}  // namespace

DecoderConfig parse_decoder_config(const std::string& config_json, const std::string& source) {
  const json::value root = runtime::parse_json(config_json, source);
  const json::object& top = runtime::as_object(root, source);
  const json::value* language = top.if_contains("language_config");
  if (language == nullptr) runtime::throw_invalid(source + ": field \"language_config\" is missing");
  const std::string where = source + ": language_config";
  const json::object& lm = runtime::as_object(*language, where);

  DecoderConfig config;
  config.vocab_size = positive(lm, "vocab_size", where);
  config.hidden_size = positive(lm, "hidden_size", where);
  config.num_layers = positive(lm, "num_hidden_layers", where);
  config.num_heads = positive(lm, "num_attention_heads", where);
  config.num_kv_heads = positive(lm, "num_key_value_heads", where, config.num_heads);
  if (config.hidden_size % config.num_heads != 0 && !lm.contains("head_dim"))
    runtime::throw_invalid(where + ": hidden_size " + std::to_string(config.hidden_size) +
                           " is not a multiple of num_attention_heads and there is no head_dim");
  config.head_dim = positive(lm, "head_dim", where, config.hidden_size / config.num_heads);
  if (config.head_dim % 2 != 0) runtime::throw_invalid(where + ": head_dim " + std::to_string(config.head_dim) + " is odd");
  if (config.num_heads % config.num_kv_heads != 0)
    runtime::throw_invalid(where + ": num_attention_heads is not a multiple of num_key_value_heads");
  config.intermediate_size = positive(lm, "intermediate_size", where);
  config.first_k_dense_replace =
      static_cast<uint32_t>(runtime::optional_int(lm, "first_k_dense_replace", where).value_or(0));
  config.n_routed_experts = static_cast<uint32_t>(runtime::optional_int(lm, "n_routed_experts", where).value_or(0));
  if (config.n_routed_experts > 0) {
    config.moe_intermediate_size = positive(lm, "moe_intermediate_size", where);
    config.experts_per_token = positive(lm, "num_experts_per_tok", where);
    if (config.experts_per_token > config.n_routed_experts)
      runtime::throw_invalid(where + ": num_experts_per_tok " + std::to_string(config.experts_per_token) +
                             " exceeds n_routed_experts " + std::to_string(config.n_routed_experts));
    config.n_shared_experts = static_cast<uint32_t>(runtime::optional_int(lm, "n_shared_experts", where).value_or(0));
    if (runtime::optional_int(lm, "moe_layer_freq", where).value_or(1) != 1)
      runtime::throw_unsupported(where + ": field \"moe_layer_freq\" must be 1 (every layer after the dense ones is MoE)");
    expect_string(lm, "topk_method", where, "greedy");
    expect_string(lm, "scoring_func", where, "softmax");
    config.norm_topk_prob = runtime::optional_bool(lm, "norm_topk_prob", where).value_or(false);
    config.routed_scaling_factor = runtime::optional_number(lm, "routed_scaling_factor", where).value_or(1.0);
  }
  if (runtime::optional_bool(lm, "use_mla", where).value_or(false) ||
      runtime::optional_int(lm, "kv_lora_rank", where).has_value())
    runtime::throw_unsupported(where + ": multi-head latent attention (use_mla / kv_lora_rank) is not supported; "
                               "DeepSeek-OCR's decoder uses plain multi-head attention");
  if (const json::value* scaling = lm.if_contains("rope_scaling"); scaling != nullptr && !scaling->is_null())
    runtime::throw_unsupported(where + ": field \"rope_scaling\" must be null");
  config.rope_theta = runtime::optional_number(lm, "rope_theta", where).value_or(10000.0);
  config.rms_norm_eps = runtime::optional_number(lm, "rms_norm_eps", where).value_or(1e-6);
  config.max_position_embeddings = positive(lm, "max_position_embeddings", where, 8192);
  config.bos_token_id = static_cast<int32_t>(runtime::optional_int(lm, "bos_token_id", where).value_or(0));
  config.eos_token_id = static_cast<int32_t>(runtime::optional_int(lm, "eos_token_id", where).value_or(1));
  if (runtime::optional_bool(lm, "tie_word_embeddings", where).value_or(false))
    runtime::throw_unsupported(where + ": tied embeddings are not supported (DeepSeek-OCR has its own lm_head)");

  if (const json::value* projector = top.if_contains("projector_config"); projector != nullptr && !projector->is_null()) {
    const json::object& p = runtime::as_object(*projector, source + ": projector_config");
    if (auto n_embed = runtime::optional_int(p, "n_embed", source + ": projector_config");
        n_embed && *n_embed != config.hidden_size)
      runtime::throw_invalid(source + ": projector_config.n_embed " + std::to_string(*n_embed) +
                             " differs from language_config.hidden_size " + std::to_string(config.hidden_size));
  }
  return config;
}

DecoderConfig load_decoder_config(const std::filesystem::path& folder) {
  const std::filesystem::path path = folder / "config.json";
  std::ifstream file(path);
  if (!file) runtime::throw_io("cannot read " + path.string());
  std::stringstream text;
  text << file.rdbuf();
  return parse_decoder_config(text.str(), path.string());
}

}  // namespace citadel::deepseek_ocr
