// Parsing of Hugging Face config.json / quantize_config.json into HfModelConfig.
#include "hf_config.h"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace citadel::llm {
namespace {

namespace json = boost::json;

// Field access with errors that name the file and field.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string source, std::string prefix = {})
      : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw HfConfigError(source_ + ": field '" + prefix_ + key + "' " + what);
  }
  const json::value* find(const std::string& key) const {
    const json::value* value = object_.if_contains(key);
    return (value == nullptr || value->is_null()) ? nullptr : value;
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }

  double number(const std::string& key, std::optional<double> fallback = std::nullopt) const {
    const json::value* value = find(key);
    if (value == nullptr) {
      if (fallback) return *fallback;
      fail(key, "is missing");
    }
    if (value->is_int64()) return static_cast<double>(value->as_int64());
    if (value->is_uint64()) return static_cast<double>(value->as_uint64());
    if (value->is_double()) return value->as_double();
    fail(key, "must be a number");
  }
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    const json::value* value = find(key);
    if (value == nullptr) {
      if (fallback) return *fallback;
      fail(key, "is missing");
    }
    if (value->is_int64()) return value->as_int64();
    if (value->is_uint64()) return static_cast<int64_t>(value->as_uint64());
    if (value->is_double() && value->as_double() == static_cast<double>(static_cast<int64_t>(value->as_double()))) {
      return static_cast<int64_t>(value->as_double());
    }
    fail(key, "must be an integer");
  }
  uint32_t positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    const int64_t value = integer(key, fallback);
    if (value <= 0 || value > 0x7fffffff) fail(key, "must be a positive integer, got " + std::to_string(value));
    return static_cast<uint32_t>(value);
  }
  bool boolean(const std::string& key, bool fallback) const {
    const json::value* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_bool()) fail(key, "must be true or false");
    return value->as_bool();
  }
  std::string string(const std::string& key, const std::string& fallback = {}) const {
    const json::value* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_string()) fail(key, "must be a string");
    return std::string(value->as_string());
  }
  const json::object* object(const std::string& key) const {
    const json::value* value = find(key);
    if (value == nullptr) return nullptr;
    if (!value->is_object()) fail(key, "must be an object");
    return &value->as_object();
  }
  FieldReader nested(const std::string& key, const json::object& inner) const {
    return FieldReader(inner, source_, prefix_ + key + ".");
  }
  const std::string& source() const { return source_; }

 private:
  const json::object& object_;
  std::string source_;
  std::string prefix_;
};

json::object parse_object(const std::string& text, const std::string& source) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error) throw HfConfigError(source + ": not valid JSON (" + error.message() + ")");
  if (!value.is_object()) throw HfConfigError(source + ": expected a JSON object");
  return std::move(value.as_object());
}

WeightDtype parse_dtype(const FieldReader& reader) {
  const std::string key = reader.has("dtype") ? "dtype" : "torch_dtype";
  const std::string text = reader.string(key, "float16");
  if (text == "float16" || text == "half") return WeightDtype::float16;
  if (text == "bfloat16") return WeightDtype::bfloat16;
  if (text == "float32" || text == "float") return WeightDtype::float32;
  reader.fail(key, "names an unsupported dtype '" + text + "' (float16, bfloat16, float32)");
}

// rope_scaling (old) or rope_parameters (new; also carries rope_theta).
void parse_rope(const FieldReader& reader, HfModelConfig& config) {
  std::string key = reader.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  const json::object* params = reader.object(key);
  config.rope.theta = reader.number("rope_theta", 10000.0);
  if (params == nullptr) return;
  FieldReader rope = reader.nested(key, *params);
  config.rope.theta = rope.number("rope_theta", config.rope.theta);
  const std::string type_key = rope.has("rope_type") ? "rope_type" : "type";
  const std::string type = rope.string(type_key, "default");
  if (type == "default") {
    config.rope.scaling = RopeScalingKind::none;
  } else if (type == "linear") {
    config.rope.scaling = RopeScalingKind::linear;
    config.rope.factor = rope.number("factor");
  } else if (type == "llama3") {
    config.rope.scaling = RopeScalingKind::llama3;
    config.rope.factor = rope.number("factor");
    config.rope.low_freq_factor = rope.number("low_freq_factor", 1.0);
    config.rope.high_freq_factor = rope.number("high_freq_factor", 4.0);
    config.rope.original_max_position_embeddings =
        rope.positive("original_max_position_embeddings", 8192);
  } else {
    rope.fail(type_key, "names an unsupported RoPE scaling '" + type +
                            "' (supported: default, linear, llama3)");
  }
}

std::vector<int32_t> parse_token_ids(const FieldReader& reader, const std::string& key) {
  const json::value* value = reader.find(key);
  std::vector<int32_t> ids;
  if (value == nullptr) return ids;
  if (value->is_array()) {
    for (const json::value& item : value->as_array()) {
      if (!item.is_int64()) reader.fail(key, "must hold integers");
      ids.push_back(static_cast<int32_t>(item.as_int64()));
    }
  } else {
    ids.push_back(static_cast<int32_t>(reader.integer(key)));
  }
  return ids;
}

GptqSettings parse_gptq(const FieldReader& quant) {
  const std::string method = quant.string("quant_method", "gptq");
  if (method != "gptq") {
    quant.fail("quant_method", "is '" + method + "'; llm-gptq loads only 'gptq' checkpoints");
  }
  GptqSettings gptq;
  const int64_t bits = quant.integer("bits");
  if (bits != 4 && bits != 8) {
    quant.fail("bits", "is " + std::to_string(bits) + "; supported: 4, 8");
  }
  gptq.bits = static_cast<uint32_t>(bits);
  const int64_t group = quant.integer("group_size", 128);
  if (group != -1 && (group <= 0 || group % 8 != 0)) {
    quant.fail("group_size", "is " + std::to_string(group) + "; supported: -1 or a positive multiple of 8");
  }
  gptq.group_size = static_cast<int32_t>(group);
  gptq.sym = quant.boolean("sym", true);
  gptq.desc_act = quant.boolean("desc_act", false);
  const std::string format_key = quant.has("checkpoint_format") ? "checkpoint_format" : "format";
  const std::string format = quant.string(format_key, "gptq");
  if (format == "gptq") {
    gptq.format = GptqCheckpointFormat::gptq_v1;
  } else if (format == "gptq_v2") {
    gptq.format = GptqCheckpointFormat::gptq_v2;
  } else {
    quant.fail(format_key, "is '" + format + "'; supported: gptq, gptq_v2");
  }
  return gptq;
}

}  // namespace

const char* to_string(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float16: return "float16";
    case WeightDtype::bfloat16: return "bfloat16";
    case WeightDtype::float32: return "float32";
  }
  return "float16";
}

HfModelConfig parse_hf_config(const std::string& config_json, const std::string& quantize_config_json,
                              const std::string& source) {
  const json::object root = parse_object(config_json, source);
  FieldReader reader(root, source);
  HfModelConfig config;
  config.model_type = reader.string("model_type");
  if (config.model_type != "llama" && config.model_type != "mistral" &&
      config.model_type != "qwen2" && config.model_type != "qwen3") {
    reader.fail("model_type", "is '" + config.model_type +
                                  "'; supported: llama, mistral, qwen2, qwen3");
  }
  const std::string activation = reader.string("hidden_act", "silu");
  if (activation != "silu") reader.fail("hidden_act", "is '" + activation + "'; only silu is supported");
  if (reader.boolean("mlp_bias", false)) reader.fail("mlp_bias", "is true; MLP biases are not supported");

  config.hidden_size = reader.positive("hidden_size");
  config.intermediate_size = reader.positive("intermediate_size");
  config.num_layers = reader.positive("num_hidden_layers");
  config.num_heads = reader.positive("num_attention_heads");
  config.num_kv_heads = reader.positive("num_key_value_heads", config.num_heads);
  if (config.num_heads % config.num_kv_heads != 0) {
    std::string message = "(";
    message += std::to_string(config.num_kv_heads);
    reader.fail("num_key_value_heads",
                message + ") must divide num_attention_heads (" + std::to_string(config.num_heads) + ")");
  }
  if (reader.has("head_dim")) {
    config.head_dim = reader.positive("head_dim");
  } else {
    if (config.hidden_size % config.num_heads != 0) {
      reader.fail("hidden_size", "is not a multiple of num_attention_heads and head_dim is not given");
    }
    config.head_dim = config.hidden_size / config.num_heads;
  }
  if (config.head_dim % 2 != 0) reader.fail("head_dim", "must be even for RoPE");
  config.vocab_size = reader.positive("vocab_size");
  config.max_position_embeddings = reader.positive("max_position_embeddings", 2048);
  config.rms_norm_eps = reader.number("rms_norm_eps", 1e-6);
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", false);
  config.dtype = parse_dtype(reader);
  parse_rope(reader, config);

  // Qwen2 always has q/k/v biases; Llama/Qwen3 say so with attention_bias.
  config.attention_bias = reader.boolean("attention_bias", config.model_type == "qwen2");
  config.qk_norm = config.model_type == "qwen3";

  // A sliding window shorter than the context changes attention; we serve
  // only the window's length, where full attention is identical.
  const bool sliding = config.model_type == "mistral" ? reader.has("sliding_window")
                                                      : reader.boolean("use_sliding_window", false);
  if (sliding && reader.has("sliding_window")) {
    const uint32_t window = reader.positive("sliding_window");
    if (window < config.max_position_embeddings) config.max_position_embeddings = window;
  }

  if (reader.has("bos_token_id")) config.bos_token_id = static_cast<int32_t>(reader.integer("bos_token_id"));
  config.eos_token_ids = parse_token_ids(reader, "eos_token_id");

  if (const json::object* quant = reader.object("quantization_config")) {
    config.gptq = parse_gptq(reader.nested("quantization_config", *quant));
  } else if (!quantize_config_json.empty()) {
    const json::object quant = parse_object(quantize_config_json, "quantize_config.json");
    config.gptq = parse_gptq(FieldReader(quant, "quantize_config.json"));
  }
  return config;
}

namespace {
std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw HfConfigError(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

HfModelConfig load_hf_config(const std::filesystem::path& folder) {
  const std::filesystem::path config_path = folder / "config.json";
  const std::filesystem::path quantize_path = folder / "quantize_config.json";
  std::string quantize_text;
  if (std::filesystem::exists(quantize_path)) quantize_text = read_text(quantize_path);
  HfModelConfig config = parse_hf_config(read_text(config_path), quantize_text, config_path.string());
  const std::filesystem::path generation_path = folder / "generation_config.json";
  if (std::filesystem::exists(generation_path)) {
    const json::object generation = parse_object(read_text(generation_path), generation_path.string());
    for (int32_t id : parse_token_ids(FieldReader(generation, generation_path.string()), "eos_token_id")) {
      if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), id) == config.eos_token_ids.end()) {
        config.eos_token_ids.push_back(id);
      }
    }
  }
  return config;
}

}  // namespace citadel::llm
