// One GGUF file -> config, weights, tokenizer and chat template.
#include "gguf_model.h"

#include "gguf_config.h"
#include "gguf_weights.h"

#include "runtime/core/error.h"
#include "runtime/formats/gguf_tokenizer.h"

#include <map>

namespace citadel::llm {

bool is_gguf_path(const std::string& weights) {
  const std::filesystem::path path(weights);
  return path.extension() == ".gguf" && std::filesystem::is_regular_file(path);
}

GgufModel load_gguf_model(const std::filesystem::path& path, const std::string& chat_template_name,
                          const std::string& default_system_prompt) {
  GgufModel model;
  model.file = std::make_shared<const runtime::GgufFile>(path);
  model.config = gguf_model_config(*model.file);
  model.weights = load_gguf_weights(model.config, model.file);
  runtime::GgufTokenizer tokenizer = runtime::load_gguf_tokenizer(*model.file);
  // A token without an embedding row would fail every request that meets it.
  if (tokenizer.tokenizer.vocab_size() > model.config.vocab_size) {
    runtime::throw_invalid(path.string() + ": tokenizer.ggml.tokens has " +
                           std::to_string(tokenizer.tokenizer.vocab_size()) + " tokens but token_embd.weight has " +
                           std::to_string(model.config.vocab_size) + " rows");
  }
  model.text.emplace(std::move(tokenizer.tokenizer), tokenizer.config,
                     path.string() + " (tokenizer.chat_template)", model.config, chat_template_name,
                     default_system_prompt);
  // The projections' most common type names the version (e.g. Q4_1).
  std::map<std::string, int> types;
  for (const LayerWeights& layer : model.weights.layers) {
    for (const Projection* p : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down}) {
      ++types[runtime::ggml_type_name(static_cast<uint32_t>(p->ggml_weight()->type))];
    }
  }
  std::string common = "F32";
  int best = 0;
  for (const auto& [name, count] : types) {
    if (count > best) common = name, best = count;
  }
  model.version = model.config.model_type + "-" + std::to_string(model.config.num_layers) + "l-gguf-" + common;
  return model;
}

}  // namespace citadel::llm
