// Reading transformer/config.json and text_encoder/config.json (see model_config.h).
#include "model_config.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

#include <string>

namespace citadel::vista {
namespace {

namespace json = boost::json;
using runtime::optional_bool;
using runtime::optional_int;
using runtime::optional_number;
using runtime::optional_string;


int64_t positive(const json::object& object, const char* key, const std::string& where,
                 std::optional<int64_t> fallback = std::nullopt) {
  std::optional<int64_t> value = optional_int(object, key, where);
  if (!value) value = fallback;
  if (!value) runtime::throw_invalid(where + ": field '" + key + "' is missing");
  if (*value <= 0) runtime::throw_invalid(where + ": field '" + key + "' must be positive, got " + std::to_string(*value));
  return *value;
}

}  // namespace

WanConfig read_wan_config(const std::filesystem::path& config_json) {
  const std::string where = config_json.string();
  const json::value root = runtime::read_json_file(config_json);
  const json::object& object = runtime::as_object(root, where);
  WanConfig config;
  config.num_heads = positive(object, "num_attention_heads", where, 40);
  config.head_dim = positive(object, "attention_head_dim", where, 128);
  config.in_channels = positive(object, "in_channels", where, 16);
  config.out_channels = positive(object, "out_channels", where, config.in_channels);
  config.text_dim = positive(object, "text_dim", where, 4096);
  config.freq_dim = positive(object, "freq_dim", where, 256);
  config.ffn_dim = positive(object, "ffn_dim", where, 13824);
  config.num_layers = positive(object, "num_layers", where, 40);
  config.rope_max_seq_len = positive(object, "rope_max_seq_len", where, 1024);
  config.eps = optional_number(object, "eps", where).value_or(1e-6);
  config.cross_attn_norm = optional_bool(object, "cross_attn_norm", where).value_or(true);
  if (config.freq_dim % 2 != 0) runtime::throw_invalid(where + ": field 'freq_dim' must be even");
  if (config.head_dim % 2 != 0 || config.head_dim < 6)
    runtime::throw_invalid(where + ": field 'attention_head_dim' must be even and at least 6 (3-D RoPE)");
  if (const json::value* patch = object.if_contains("patch_size")) {
    if (!patch->is_array() || patch->as_array().size() != 3)
      runtime::throw_invalid(where + ": field 'patch_size' must be a list of 3 integers");
    for (size_t i = 0; i < 3; ++i) config.patch[i] = static_cast<int64_t>(runtime::number_value(patch->as_array()[i], where + ": patch_size"));
  }
  if (config.patch[0] != 1 || config.patch[1] != config.patch[2] || config.patch[1] <= 0)
    runtime::throw_unsupported(where + ": field 'patch_size' must be [1, p, p] (causal frames need p_t = 1)");
  const std::string qk_norm = optional_string(object, "qk_norm", where).value_or("rms_norm_across_heads");
  if (qk_norm != "rms_norm_across_heads")
    runtime::throw_unsupported(where + ": field 'qk_norm' is '" + qk_norm + "'; only rms_norm_across_heads is supported");
  for (const char* key : {"image_dim", "added_kv_proj_dim", "pos_embed_seq_len"}) {
    const json::value* value = object.if_contains(key);
    if (value != nullptr && !value->is_null())
      runtime::throw_unsupported(where + ": field '" + std::string(key) + "' is set: image conditioning (I2V) is not supported");
  }
  return config;
}

Umt5Config read_umt5_config(const std::filesystem::path& config_json) {
  const std::string where = config_json.string();
  const json::value root = runtime::read_json_file(config_json);
  const json::object& object = runtime::as_object(root, where);
  Umt5Config config;
  config.vocab_size = positive(object, "vocab_size", where);
  config.d_model = positive(object, "d_model", where);
  config.d_kv = positive(object, "d_kv", where);
  config.d_ff = positive(object, "d_ff", where);
  config.num_layers = positive(object, "num_layers", where);
  config.num_heads = positive(object, "num_heads", where);
  config.relative_attention_num_buckets = positive(object, "relative_attention_num_buckets", where, 32);
  config.relative_attention_max_distance = positive(object, "relative_attention_max_distance", where, 128);
  config.eps = optional_number(object, "layer_norm_epsilon", where).value_or(1e-6);
  const std::string projection = optional_string(object, "feed_forward_proj", where).value_or("gated-gelu");
  if (projection != "gated-gelu")
    runtime::throw_unsupported(where + ": field 'feed_forward_proj' is '" + projection + "'; UMT5 uses gated-gelu");

  return config;
}

}  // namespace citadel::vista
