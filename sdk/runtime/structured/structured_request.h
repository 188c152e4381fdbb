// The structured-output fields of a text plugin's native request input, and
// the Grammar they ask for:
//   "constraint": {"type": "json_object"} | {"type": "json_schema", "schema": {...}}
//   "tools": [OpenAI tool objects {"type": "function", "function": {"name",
//             "description", "parameters"}}]
//   "tool_choice": "none" | "auto" | "required" | {"type": "function", "function": {"name"}}
//   "parallel_tool_calls": true
// and, in "messages", an assistant turn's "tool_calls" ([{"id", "type",
// "function": {"name", "arguments"}}]) and a tool turn's "tool_call_id".
// With tool_choice "required" or a named function, the output is
// constrained to the model family's tool-call form (tool_call_grammar.h);
// otherwise the constraint (if any) applies; "auto" without a constraint
// in the Hermes (ChatML) form keeps the text free but every <tool_call>
// block well formed. The HTTP layer translates the
// OpenAI response_format / tools into these fields. Used by llm-gptq's
// request parsing; errors are RuntimeError (INVALID_ARGUMENT) naming the field.
#pragma once

#include "runtime/structured/grammar.h"
#include "runtime/text/chat_template.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::runtime::structured {

enum class ToolChoice { none, auto_, required, function };

struct StructuredRequest {
  std::optional<boost::json::value> constraint;
  std::vector<boost::json::value> tools;
  ToolChoice tool_choice = ToolChoice::auto_;
  std::string tool_choice_name;  // ToolChoice::function
  bool parallel_tool_calls = true;

  bool has_tools() const { return !tools.empty(); }
};

StructuredRequest parse_structured_request(const boost::json::object& input);

// The tool calls of messages[index] ("tool_calls"), checked.
std::vector<ChatToolCall> parse_message_tool_calls(const boost::json::object& message, size_t index);

// The grammar the request asks for (null: unconstrained). `style` picks the
// tool-call form. Throws SchemaError for a schema outside the subset.
std::shared_ptr<const Grammar> request_grammar(const StructuredRequest& request, ChatStyle style);

}  // namespace citadel::runtime::structured
