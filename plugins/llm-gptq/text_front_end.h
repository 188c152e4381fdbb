// text_front_end.h — the text side of a model folder: tokenizer.json,
// tokenizer_config.json (or chat_template.jinja) and the chat template, the
// stop token ids (config/generation_config eos, tokenizer_config eos_token,
// the template's end-of-turn token), and the encoding of a request's prompt
// or chat messages into token ids. Built once per instance by LlmModel (from
// a model folder, or from the tokenizer a GGUF file carries).
#pragma once

#include "hf_config.h"
#include "request_input.h"

#include "runtime/text/chat_template.h"
#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace citadel::llm {

class TextFrontEnd {
 public:
  // chat_template_name: "auto" (detect from the folder) | "llama3" | "chatml".
  TextFrontEnd(const std::filesystem::path& folder, const HfModelConfig& config,
               const std::string& chat_template_name, const std::string& default_system_prompt);
  // From a tokenizer and its config read elsewhere (a GGUF file); `source`
  // names where the chat template came from in errors.
  TextFrontEnd(runtime::Tokenizer tokenizer, const runtime::TokenizerConfig& tokenizer_config,
               const std::string& source, const HfModelConfig& config, const std::string& chat_template_name,
               const std::string& default_system_prompt);

  const runtime::Tokenizer& tokenizer() const { return tokenizer_; }
  const std::vector<int32_t>& stop_token_ids() const { return stop_token_ids_; }
  // The chat template, or null when the folder has none.
  const runtime::ChatTemplate* chat_template() const { return chat_template_ ? &*chat_template_ : nullptr; }

  // Token ids of the request's prompt: given ids as they are (checked
  // against vocab_size), text with the tokenizer's special tokens, messages
  // rendered by the chat template. Throws INVALID_ARGUMENT naming the field.
  std::vector<int32_t> encode(const RequestInput& input, uint32_t vocab_size) const;

 private:
  runtime::Tokenizer tokenizer_;
  std::optional<runtime::ChatTemplate> chat_template_;
  std::string chat_template_error_;  // why chat requests fail, when there is no template
  std::vector<int32_t> stop_token_ids_;
};

}  // namespace citadel::llm
