// GGUF metadata -> HfModelConfig (the keys llama.cpp's converter writes).
#include "gguf_config.h"

#include "runtime/core/error.h"

#include <cmath>
#include <limits>
#include <optional>

namespace citadel::llm {
namespace {

uint32_t positive(const runtime::GgufFile& file, const std::string& key, std::optional<uint64_t> fallback = std::nullopt) {
  const uint64_t value = file.get_uint(key, fallback);
  if (value == 0 || value > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    runtime::throw_invalid(file.key_context(key) + " must be a positive integer, got " + std::to_string(value));
  }
  return static_cast<uint32_t>(value);
}

// A float hyper-parameter that must be finite and above 0 (epsilon, RoPE
// base and scaling factor): 0, a negative value, NaN or infinity would only
// show as NaN logits.
double positive_real(const runtime::GgufFile& file, const std::string& key, std::optional<double> fallback = std::nullopt) {
  const double value = file.get_double(key, fallback);
  if (!std::isfinite(value) || value <= 0) {
    runtime::throw_invalid(file.key_context(key) + " must be a positive finite number, got " + std::to_string(value));
  }
  return value;
}

// A token id that must be a row of token_embd.weight.
int32_t token_id(const runtime::GgufFile& file, const std::string& key, uint32_t vocab_size) {
  const uint64_t id = file.get_uint(key);
  if (id >= vocab_size) {
    runtime::throw_invalid(file.key_context(key) + " is " + std::to_string(id) + " but token_embd.weight has " +
                           std::to_string(vocab_size) + " rows");
  }
  return static_cast<int32_t>(id);
}

void read_rope_scaling(const runtime::GgufFile& file, const std::string& arch, HfModelConfig& config) {
  const std::string type_key = arch + ".rope.scaling.type";
  const std::string type = file.get_string(type_key, "none");
  if (type == "none") return;
  if (type == "linear") {
    config.rope.scaling = RopeScalingKind::linear;
    config.rope.factor = positive_real(file, arch + ".rope.scaling.factor");
    return;
  }
  runtime::throw_unsupported(file.key_context(type_key) + " is '" + type + "'; supported: none, linear");
}

}  // namespace

HfModelConfig gguf_model_config(const runtime::GgufFile& file) {
  const std::string arch = file.get_string("general.architecture");
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3") {
    runtime::throw_unsupported(file.key_context("general.architecture") + " is '" + arch +
                               "'; supported: llama, qwen2, qwen3");
  }
  HfModelConfig config;
  config.model_type = arch;
  config.num_layers = positive(file, arch + ".block_count");
  // Every block has its tensors: a count beyond them is refused before
  // anything is sized by it.
  const std::string last_block = "blk." + std::to_string(config.num_layers - 1) + ".attn_norm.weight";
  if (file.find_tensor(last_block) == nullptr) {
    runtime::throw_invalid(file.key_context(arch + ".block_count") + " is " + std::to_string(config.num_layers) +
                           " but the file has no tensor '" + last_block + "'");
  }
  config.hidden_size = positive(file, arch + ".embedding_length");
  config.intermediate_size = positive(file, arch + ".feed_forward_length");
  config.num_heads = positive(file, arch + ".attention.head_count");
  config.num_kv_heads = positive(file, arch + ".attention.head_count_kv", config.num_heads);
  if (config.num_heads % config.num_kv_heads != 0) {
    runtime::throw_invalid(file.key_context(arch + ".attention.head_count_kv") + " (" +
                           std::to_string(config.num_kv_heads) + ") must divide attention.head_count (" +
                           std::to_string(config.num_heads) + ")");
  }
  const std::string key_length = arch + ".attention.key_length";
  if (file.has(key_length)) {
    config.head_dim = positive(file, key_length);
  } else {
    if (config.hidden_size % config.num_heads != 0) {
      runtime::throw_invalid(file.key_context(arch + ".embedding_length") +
                             " is not a multiple of attention.head_count and attention.key_length is not given");
    }
    config.head_dim = config.hidden_size / config.num_heads;
  }
  const std::string value_length = arch + ".attention.value_length";
  if (file.has(value_length) && file.get_uint(value_length) != config.head_dim) {
    runtime::throw_unsupported(file.key_context(value_length) + " differs from the key length " +
                               std::to_string(config.head_dim));
  }
  if (config.head_dim % 2 != 0) runtime::throw_invalid(file.key_context(key_length) + ": head size must be even for RoPE");
  const std::string rope_dims = arch + ".rope.dimension_count";
  if (file.has(rope_dims) && file.get_uint(rope_dims) != config.head_dim) {
    runtime::throw_unsupported(file.key_context(rope_dims) + " is " + std::to_string(file.get_uint(rope_dims)) +
                               "; partial rotary embeddings are not supported (head size " +
                               std::to_string(config.head_dim) + ")");
  }
  if (file.find_tensor("rope_freqs.weight") != nullptr) {
    runtime::throw_unsupported(file.path().string() +
                               ": tensor 'rope_freqs.weight' (Llama-3.1 RoPE frequency factors) is not supported yet");
  }
  if (file.has(arch + ".attention.sliding_window")) {
    runtime::throw_unsupported(file.key_context(arch + ".attention.sliding_window") + ": sliding-window attention is not supported");
  }
  config.rms_norm_eps = positive_real(file, arch + ".attention.layer_norm_rms_epsilon");
  config.rope.theta = positive_real(file, arch + ".rope.freq_base", 10000.0);
  read_rope_scaling(file, arch, config);
  config.max_position_embeddings = positive(file, arch + ".context_length", 2048);

  const runtime::GgufTensorInfo& embedding = file.tensor("token_embd.weight");
  if (embedding.dims.size() != 2 || embedding.cols() != config.hidden_size) {
    runtime::throw_invalid(file.path().string() + ": tensor 'token_embd.weight' has shape " +
                           runtime::shape_string(embedding.shape()) + ", expected [vocab, " +
                           std::to_string(config.hidden_size) + "]");
  }
  config.vocab_size = static_cast<uint32_t>(embedding.rows());
  if (file.has(arch + ".vocab_size") && file.get_uint(arch + ".vocab_size") != config.vocab_size) {
    runtime::throw_invalid(file.key_context(arch + ".vocab_size") + " is " +
                           std::to_string(file.get_uint(arch + ".vocab_size")) + " but token_embd.weight has " +
                           std::to_string(config.vocab_size) + " rows");
  }
  config.tie_word_embeddings = file.find_tensor("output.weight") == nullptr;
  config.attention_bias = file.find_tensor("blk.0.attn_q.bias") != nullptr;
  config.qk_norm = arch == "qwen3";
  config.dtype = WeightDtype::float32;
  if (file.has("tokenizer.ggml.bos_token_id")) {
    config.bos_token_id = token_id(file, "tokenizer.ggml.bos_token_id", config.vocab_size);
  }
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    if (file.has(key)) config.eos_token_ids.push_back(token_id(file, key, config.vocab_size));
  }
  return config;
}

}  // namespace citadel::llm
