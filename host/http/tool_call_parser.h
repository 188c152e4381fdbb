// Tool calls out of a chat model's generated text, in the two forms the
// text plugins' chat templates ask for:
//   <tool_call>{"name": "f", "arguments": {...}}</tool_call>   (ChatML / Hermes, Qwen2.5;
//                                                                 several blocks allowed)
//   {"name": "f", "parameters": {...}}                          (Llama 3.1 JSON: the whole reply)
// A call counts only when it parses and names one of the request's tools;
// anything else stays content. ToolCallStream does the same on a stream:
// content is passed on at once except text that may still turn into a call
// (a partial "<tool_call>" tag, a reply that opens with '{'), which is held
// until it is decided. Used by completion_endpoint.cpp when a chat request
// has tools (tool_choice not "none"); pure, no I/O.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

struct ToolCall {
  std::string id;         // "call_" + 24 random letters and digits
  std::string name;
  std::string arguments;  // JSON text
};

struct AssistantOutput {
  std::string content;  // the text outside the calls, trimmed when there are calls
  std::vector<ToolCall> calls;
};

AssistantOutput parse_tool_calls(std::string_view text, const std::vector<std::string>& tool_names);

// {"id", "type": "function", "function": {"name", "arguments"}}; with
// `index` (streaming deltas) an "index" member first.
boost::json::object tool_call_json(const ToolCall& call, int index = -1);

class ToolCallStream {
 public:
  explicit ToolCallStream(std::vector<std::string> tool_names);
  // Content that can be sent now.
  std::string push(std::string_view text);
  // At the end: the held content and the calls.
  AssistantOutput finish();

 private:
  std::vector<std::string> tool_names_;
  std::string held_;         // text not sent yet
  std::string sent_;         // text already sent as content
  bool holding_all_ = false; // a call has begun: hold everything to the end
};

}  // namespace citadel::http
