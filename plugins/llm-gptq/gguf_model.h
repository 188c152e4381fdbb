// gguf_model.h — loading a model from one GGUF file (llama.cpp / Ollama
// format) named as the model's `weights:`: the mapped file, the
// architecture (gguf_config.h), the tensors in their stored types
// (gguf_weights.h) and the tokenizer and chat template the file carries
// (runtime/formats/gguf_tokenizer.h). Nothing is converted, so loading takes
// about as long as mapping the file. Called by LlmModel and the tests.
#pragma once

#include "hf_config.h"
#include "text_front_end.h"
#include "weights.h"

#include "runtime/formats/gguf_file.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace citadel::llm {

// True when `weights` names a regular file ending in ".gguf".
bool is_gguf_path(const std::string& weights);

struct GgufModel {
  std::shared_ptr<const runtime::GgufFile> file;
  HfModelConfig config;
  ModelWeights weights;
  std::optional<TextFrontEnd> text;
  std::string version;  // e.g. "llama-30l-gguf-Q4_1"
};

GgufModel load_gguf_model(const std::filesystem::path& path, const std::string& chat_template_name,
                          const std::string& default_system_prompt);

}  // namespace citadel::llm
