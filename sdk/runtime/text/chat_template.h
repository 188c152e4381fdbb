// Chat templates in the two styles Citadel supports, rendered in C++ (no
// Jinja): "llama3" (<|begin_of_text|><|start_header_id|>role<|end_header_id|>
// \n\ncontent<|eot_id|>...) and "chatml" (<|im_start|>role\ncontent<|im_end|>
// \n...), each with an optional generation prompt. The style is selected by
// name (e.g. from the models.d YAML) or detected from tokenizer_config.json's
// chat_template string. The rendered text already holds the BOS token where
// the style wants one: encode it with add_special_tokens=false.
// Used by text plugins to turn /v1/chat/completions messages into a prompt.
// With tools (OpenAI tool objects) the template follows the model family's
// tool convention (chat_template_tools.cpp): ChatML as Qwen2.5 / Hermes
// (<tools> in the system message, <tool_call> blocks, <tool_response> user
// turns), Llama-3 as Meta's Llama 3.1 JSON tool calling.
#pragma once

#include <boost/json/value.hpp>

#include "runtime/text/tokenizer_config.h"

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citadel::runtime {

// A call the assistant made earlier in the conversation.
struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text, as the OpenAI API carries it
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool" (others passed through)
  std::string content;
  std::vector<ChatToolCall> tool_calls;  // assistant turns that called tools
  std::string tool_call_id;              // role "tool": the call it answers
};

enum class ChatStyle { llama3, chatml };

// "llama3" or "chatml"; throws RuntimeError (INVALID_ARGUMENT) naming the
// value otherwise.
ChatStyle chat_style_from_name(std::string_view name);
std::string_view chat_style_name(ChatStyle style);
// Detects the style from a Jinja chat_template string (looks for the marker
// tokens); throws RuntimeError naming `source` when neither style fits.
ChatStyle detect_chat_style(std::string_view chat_template, const std::string& source);

class ChatTemplate {
 public:
  explicit ChatTemplate(ChatStyle style, std::string bos_token = "");
  // `explicit_name` wins when non-empty ("llama3" | "chatml"); otherwise the
  // style is detected from config.chat_template (error names `source`).
  // The BOS text comes from config.bos_token (Llama-3: "<|begin_of_text|>").
  static ChatTemplate select(std::string_view explicit_name, const TokenizerConfig& config,
                             const std::string& source);

  ChatStyle style() const { return style_; }
  // A system message to put first when the conversation has none (ChatML
  // models such as Qwen2.5 and SmolLM2 ship one); empty = none.
  void set_default_system_prompt(std::string prompt) { default_system_prompt_ = std::move(prompt); }

  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  // The same with the tools offered to the model (OpenAI tool objects, as
  // {"type": "function", "function": {"name", "description", "parameters"}})
  // and tool calls / tool results in the messages. Throws RuntimeError
  // (INVALID_ARGUMENT) for what the style cannot express.
  std::string render(std::span<const ChatMessage> messages, std::span<const boost::json::value> tools,
                     bool add_generation_prompt) const;

  // Whether the model's own template handles tools (its Jinja text mentions
  // them); set by select(), overridable by the plugin's options.
  bool supports_tools() const { return supports_tools_; }
  void set_supports_tools(bool supported) { supports_tools_ = supported; }

 private:
  std::string render_chatml_tools(std::span<const ChatMessage> messages, std::span<const boost::json::value> tools,
                                  bool add_generation_prompt) const;
  std::string render_llama3_tools(std::span<const ChatMessage> messages, std::span<const boost::json::value> tools,
                                  bool add_generation_prompt) const;

  ChatStyle style_;
  bool supports_tools_ = false;
  std::string bos_token_;
  std::string default_system_prompt_;
};

}  // namespace citadel::runtime
