// The grammar of tool calls in a model family's own form, for tool_choice
// "required" or a named function:
//   hermes (ChatML, Qwen2.5):  <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//                              (several, separated by "\n", when parallel)
//   llama3_json (Llama 3.1):   {"name": "f", "parameters": {...}}
// The arguments follow each function's "parameters" schema (absent: any
// object). Used by request_grammar (structured_request.h).
#pragma once

#include "runtime/structured/grammar.h"

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace citadel::runtime::structured {

enum class ToolCallSyntax { hermes, llama3_json };

struct ToolFunction {
  std::string name;
  boost::json::value parameters;  // null: any object
  std::string where;              // "tools[2].function.parameters", for messages
};

// Calls of one of `functions`; up to `max_calls` of them (hermes only).
std::shared_ptr<const Grammar> tool_call_grammar(ToolCallSyntax syntax, const std::vector<ToolFunction>& functions,
                                                 uint32_t max_calls);

// tool_choice "auto" in the hermes form: free text, but every
// "<tool_call>" the model opens continues as a well-formed call of one of
// `functions` (up to `max_calls`), followed by free text again.
std::shared_ptr<const Grammar> tool_call_auto_grammar(const std::vector<ToolFunction>& functions, uint32_t max_calls);

}  // namespace citadel::runtime::structured
