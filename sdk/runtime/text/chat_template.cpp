// ChatTemplate: Llama-3 and ChatML rendering and detection.
#include "runtime/text/chat_template.h"

#include "runtime/core/error.h"

#include <algorithm>

namespace citadel::runtime {
namespace {

constexpr std::string_view kLlama3Bos = "<|begin_of_text|>";

std::string_view trim(std::string_view text) {
  const char* space = " \t\n\r\v\f";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

}  // namespace

ChatStyle chat_style_from_name(std::string_view name) {
  if (name == "llama3") return ChatStyle::llama3;
  if (name == "chatml") return ChatStyle::chatml;
  throw_invalid("unknown chat template \"" + std::string(name) + "\" (expected \"llama3\" or \"chatml\")");
}

std::string_view chat_style_name(ChatStyle style) {
  return style == ChatStyle::llama3 ? "llama3" : "chatml";
}

ChatStyle detect_chat_style(std::string_view chat_template, const std::string& source) {
  if (chat_template.find("<|start_header_id|>") != std::string_view::npos &&
      chat_template.find("<|eot_id|>") != std::string_view::npos) {
    return ChatStyle::llama3;
  }
  if (chat_template.find("<|im_start|>") != std::string_view::npos &&
      chat_template.find("<|im_end|>") != std::string_view::npos) {
    return ChatStyle::chatml;
  }
  if (chat_template.empty()) {
    throw_unsupported(source + ": no chat_template; choose one explicitly (\"llama3\" or \"chatml\")");
  }
  const size_t shown = std::min<size_t>(chat_template.size(), 80);
  throw_unsupported(source + ": chat_template \"" + std::string(chat_template.substr(0, shown)) +
                    (shown < chat_template.size() ? "..." : "") +
                    "\" fits neither the llama3 nor the chatml style; choose one explicitly");
}

ChatTemplate::ChatTemplate(ChatStyle style, std::string bos_token)
    : style_(style), bos_token_(std::move(bos_token)) {}

ChatTemplate ChatTemplate::select(std::string_view explicit_name, const TokenizerConfig& config,
                                  const std::string& source) {
  const ChatStyle style = explicit_name.empty() ? detect_chat_style(config.chat_template, source)
                                                : chat_style_from_name(explicit_name);
  std::string bos;
  if (style == ChatStyle::llama3) bos = config.bos_token.value_or(std::string(kLlama3Bos));
  ChatTemplate chat(style, std::move(bos));
  chat.set_supports_tools(config.chat_template.find("tools") != std::string::npos);
  return chat;
}

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  std::vector<ChatMessage> all;
  const bool has_system = !messages.empty() && messages.front().role == "system";
  if (!has_system && !default_system_prompt_.empty()) all.push_back({"system", default_system_prompt_, {}, {}});
  all.insert(all.end(), messages.begin(), messages.end());

  std::string text;
  if (style_ == ChatStyle::llama3) {
    text += bos_token_;
    for (const ChatMessage& m : all) {
      text += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
      text += trim(m.content);
      text += "<|eot_id|>";
    }
    if (add_generation_prompt) text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  } else {
    for (const ChatMessage& m : all) {
      text += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
    if (add_generation_prompt) text += "<|im_start|>assistant\n";
  }
  return text;
}

}  // namespace citadel::runtime
