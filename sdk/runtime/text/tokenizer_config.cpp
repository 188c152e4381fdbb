// TokenizerConfig: reading tokenizer_config.json.
#include "runtime/text/tokenizer_config.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

namespace citadel::runtime {
namespace json = boost::json;

namespace {

// A special token written as "text" or {"content": "text", ...}.
std::optional<std::string> token_field(const json::object& object, std::string_view key,
                                       const std::string& where) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (value->is_string()) return std::string(value->get_string());
  if (value->is_object()) {
    return required_string(value->get_object(), "content", where + ": field \"" + std::string(key) + "\"");
  }
  throw_invalid(where + ": field \"" + std::string(key) + "\" must be a string or an object with \"content\"");
}

TokenizerConfig from_json(const json::value& root, const std::string& source) {
  const auto& object = as_object(root, source);
  TokenizerConfig config;
  config.bos_token = token_field(object, "bos_token", source);
  config.eos_token = token_field(object, "eos_token", source);
  config.pad_token = token_field(object, "pad_token", source);
  config.add_bos_token = optional_bool(object, "add_bos_token", source);
  const auto* chat_template = object.if_contains("chat_template");
  if (chat_template != nullptr && !chat_template->is_null()) {
    if (chat_template->is_string()) {
      config.chat_template = std::string(chat_template->get_string());
    } else if (chat_template->is_array()) {
      // Several named templates: [{"name": "default", "template": "..."}, ...].
      for (const auto& entry : chat_template->get_array()) {
        const auto& e = as_object(entry, source + ": chat_template");
        const std::string name = optional_string(e, "name", source + ": chat_template").value_or("");
        if (name == "default" || config.chat_template.empty()) {
          config.chat_template = required_string(e, "template", source + ": chat_template");
        }
      }
    } else {
      throw_invalid(source + ": field \"chat_template\" must be a string or a list of templates");
    }
  }
  return config;
}

}  // namespace

TokenizerConfig TokenizerConfig::parse(std::string_view text, const std::string& source) {
  return from_json(parse_json(text, source), source);
}

TokenizerConfig TokenizerConfig::load(const std::filesystem::path& path) {
  return from_json(read_json_file(path), path.string());
}

}  // namespace citadel::runtime
