// TokenizerConfig: the parts of a Hugging Face tokenizer_config.json a model
// host needs: bos/eos/pad tokens (written as strings or as {"content": ...}
// objects), add_bos_token, and the Jinja chat_template string (used only to
// detect the template style, never executed). Used by plugins together with
// Tokenizer and ChatTemplate.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::runtime {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<bool> add_bos_token;
  std::string chat_template;  // empty when absent

  // Throws RuntimeError naming the file for malformed JSON or field types.
  static TokenizerConfig load(const std::filesystem::path& tokenizer_config_json);
  static TokenizerConfig parse(std::string_view json, const std::string& source);
};

}  // namespace citadel::runtime
