// ChatTemplate with tools: the Qwen2.5 / Hermes ChatML convention and Meta's
// Llama 3.1 JSON tool-call convention, written out as their Jinja templates
// render them (tojson = Python's json.dumps).
#include "runtime/core/error.h"
#include "runtime/text/chat_template.h"
#include "runtime/text/python_json.h"

#include <boost/json.hpp>

namespace citadel::runtime {
namespace {

namespace json = boost::json;

std::string_view trim(std::string_view text) {
  const char* space = " \t\n\r\v\f";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

bool uses_tools(std::span<const ChatMessage> messages) {
  for (const ChatMessage& message : messages)
    if (!message.tool_calls.empty() || message.role == "tool") return true;
  return false;
}

// The arguments of an earlier call as the templates print them: the parsed
// object through tojson (vLLM and transformers parse them first).
std::string arguments_json(const ChatToolCall& call) {
  boost::system::error_code error;
  const json::value parsed = json::parse(call.arguments, error);
  if (error) throw_invalid("tool call '" + call.name + "': arguments are not JSON: " + call.arguments);
  return python_json_dumps(parsed);
}

constexpr std::string_view kChatmlToolsIntro =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
constexpr std::string_view kChatmlToolsOutro =
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\n</tool_call>";

constexpr std::string_view kLlama3ToolsIntro =
    "Given the following functions, please respond with a JSON for a function call with its proper "
    "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, "
    "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n";

}  // namespace

std::string ChatTemplate::render(std::span<const ChatMessage> messages, std::span<const json::value> tools,
                                 bool add_generation_prompt) const {
  if (tools.empty() && !uses_tools(messages)) return render(messages, add_generation_prompt);
  return style_ == ChatStyle::chatml ? render_chatml_tools(messages, tools, add_generation_prompt)
                                     : render_llama3_tools(messages, tools, add_generation_prompt);
}

std::string ChatTemplate::render_chatml_tools(std::span<const ChatMessage> messages,
                                              std::span<const json::value> tools, bool add_generation_prompt) const {
  std::string text;
  size_t first = 0;
  const bool has_system = !messages.empty() && messages.front().role == "system";
  const std::string& system = has_system ? messages.front().content : default_system_prompt_;
  if (!tools.empty()) {
    text += "<|im_start|>system\n";
    if (!system.empty()) text += system + "\n\n";
    text += kChatmlToolsIntro;
    for (const json::value& tool : tools) {
      text += '\n';
      text += python_json_dumps(tool);
    }
    text += kChatmlToolsOutro;
    text += "<|im_end|>\n";
    if (has_system) first = 1;
  } else if (!has_system && !default_system_prompt_.empty()) {
    text += "<|im_start|>system\n" + default_system_prompt_ + "<|im_end|>\n";
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      text += "<|im_start|>assistant";
      if (!m.content.empty()) text += "\n" + m.content;
      for (const ChatToolCall& call : m.tool_calls)
        text += "\n<tool_call>\n{\"name\": \"" + call.name + "\", \"arguments\": " + arguments_json(call) +
                "}\n</tool_call>";
      text += "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") text += "<|im_start|>user";
      text += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") text += "<|im_end|>\n";
    } else {
      text += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
  }
  if (add_generation_prompt) text += "<|im_start|>assistant\n";
  return text;
}

std::string ChatTemplate::render_llama3_tools(std::span<const ChatMessage> messages,
                                              std::span<const json::value> tools, bool add_generation_prompt) const {
  size_t next = 0;
  std::string system = default_system_prompt_;
  if (!messages.empty() && messages.front().role == "system") {
    system = std::string(trim(messages.front().content));
    next = 1;
  }
  std::string text = bos_token_ + "<|start_header_id|>system<|end_header_id|>\n\n";
  if (!tools.empty()) text += "Environment: ipython\n";
  text += "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
  text += system + "<|eot_id|>";
  if (!tools.empty()) {
    // Llama 3.1 puts the tools into the first user message.
    if (next >= messages.size())
      throw_invalid("the llama3 chat template puts tools into the first user message, and there is none");
    text += "<|start_header_id|>user<|end_header_id|>\n\n";
    text += kLlama3ToolsIntro;
    for (const json::value& tool : tools) text += python_json_dumps(tool, 4) + "\n\n";
    text += std::string(trim(messages[next].content)) + "<|eot_id|>";
    ++next;
  }
  for (size_t i = next; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (!m.tool_calls.empty()) {
      if (m.tool_calls.size() != 1)
        throw_invalid("the llama3 chat template takes one tool call per assistant message, message " +
                      std::to_string(i) + " has " + std::to_string(m.tool_calls.size()));
      const ChatToolCall& call = m.tool_calls.front();
      text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      text += "{\"name\": \"" + call.name + "\", \"parameters\": " + arguments_json(call) + "}<|eot_id|>";
    } else if (m.role == "tool" || m.role == "ipython") {
      // The template passes the content through tojson (a string is iterable).
      text += "<|start_header_id|>ipython<|end_header_id|>\n\n" + python_json_dumps(json::value(m.content)) +
              "<|eot_id|>";
    } else {
      text += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + std::string(trim(m.content)) + "<|eot_id|>";
    }
  }
  if (add_generation_prompt) text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return text;
}

}  // namespace citadel::runtime
