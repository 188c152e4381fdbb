// Tokenizer, chat template and stop tokens of a model folder.
#include "text_front_end.h"

#include "runtime/core/error.h"
#include "runtime/text/tokenizer_config.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace citadel::llm {
namespace {

runtime::TokenizerConfig load_tokenizer_config(const std::filesystem::path& folder) {
  runtime::TokenizerConfig config;
  const std::filesystem::path path = folder / "tokenizer_config.json";
  if (std::filesystem::exists(path)) config = runtime::TokenizerConfig::load(path);
  // Newer transformers save the template beside tokenizer_config.json.
  const std::filesystem::path jinja_path = folder / "chat_template.jinja";
  if (config.chat_template.empty() && std::filesystem::exists(jinja_path)) {
    std::ifstream jinja(jinja_path, std::ios::binary);
    config.chat_template.assign(std::istreambuf_iterator<char>(jinja), std::istreambuf_iterator<char>());
  }
  return config;
}

}  // namespace

TextFrontEnd::TextFrontEnd(const std::filesystem::path& folder, const HfModelConfig& config,
                           const std::string& chat_template_name, const std::string& default_system_prompt)
    : TextFrontEnd(runtime::Tokenizer::from_file(folder / "tokenizer.json"), load_tokenizer_config(folder),
                   (folder / "tokenizer_config.json").string(), config, chat_template_name, default_system_prompt) {}

TextFrontEnd::TextFrontEnd(runtime::Tokenizer tokenizer, const runtime::TokenizerConfig& tokenizer_config,
                           const std::string& source, const HfModelConfig& config,
                           const std::string& chat_template_name, const std::string& default_system_prompt)
    : tokenizer_(std::move(tokenizer)) {
  try {
    const std::string name = chat_template_name == "auto" ? "" : chat_template_name;
    chat_template_.emplace(runtime::ChatTemplate::select(name, tokenizer_config, source));
    if (!default_system_prompt.empty()) chat_template_->set_default_system_prompt(default_system_prompt);
  } catch (const std::exception& error) {
    chat_template_error_ = error.what();
  }

  std::vector<int32_t> stops = config.eos_token_ids;
  auto add_stop_token = [&](const std::string& text) {
    if (auto id = tokenizer_.token_to_id(text)) stops.push_back(*id);
  };
  if (tokenizer_config.eos_token) add_stop_token(*tokenizer_config.eos_token);
  if (chat_template_) {
    add_stop_token(chat_template_->style() == runtime::ChatStyle::chatml ? "<|im_end|>" : "<|eot_id|>");
  }
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  stop_token_ids_ = std::move(stops);
}

std::vector<int32_t> TextFrontEnd::encode(const RequestInput& input, uint32_t vocab_size) const {
  if (!input.prompt_token_ids.empty()) {
    for (int32_t id : input.prompt_token_ids) {
      if (static_cast<uint32_t>(id) >= vocab_size) {
        runtime::throw_invalid("request input: 'prompt' token id " + std::to_string(id) +
                               " is outside the vocabulary (" + std::to_string(vocab_size) + ")");
      }
    }
    return input.prompt_token_ids;
  }
  if (input.is_chat()) {
    if (!chat_template_) {
      runtime::throw_invalid("request input: 'messages' needs a chat template: " + chat_template_error_);
    }
    const std::string text =
        chat_template_->render(input.messages, input.structured.tools, /*add_generation_prompt=*/true);
    return tokenizer_.encode(text, /*add_special_tokens=*/false);
  }
  return tokenizer_.encode(*input.prompt_text, /*add_special_tokens=*/true);
}

}  // namespace citadel::llm
