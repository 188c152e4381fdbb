// The structured-output part of the OpenAI chat API on the request side:
// response_format ({"type": "text" | "json_object" | "json_schema",
// "json_schema": {"name", "schema", "strict"}}), tools, tool_choice,
// parallel_tool_calls, and the tool fields of messages (an assistant turn's
// tool_calls, a tool turn's tool_call_id). Validates their shape (400 naming
// the field) and writes the text plugins' native fields ("constraint",
// "tools", "tool_choice", "parallel_tool_calls"); the plugin compiles the
// schema and renders the tools for its chat template.
//
// Called by: openai_translate.cpp (parse_chat_request, parse_messages,
// native_input) and the [http] unit tests.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace citadel::http {

struct StructuredFields {
  std::optional<boost::json::object> constraint;  // native "constraint"
  boost::json::array tools;                       // OpenAI tool objects, as sent
  boost::json::value tool_choice;                 // null when absent
  std::optional<bool> parallel_tool_calls;

  // Whether tool calls are parsed out of the output (tools given, not "none").
  bool tools_active() const;
  // The names of the functions in `tools`.
  std::vector<std::string> tool_names() const;
};

StructuredFields parse_structured_fields(const boost::json::object& body);

// Adds the fields the plugin reads to the native input.
void add_structured_input(const StructuredFields& fields, boost::json::object& input);

// Copies a message's tool_calls / tool_call_id into `out` (checked); returns
// whether the message carries tool calls (its content may then be absent).
bool copy_message_tool_fields(const boost::json::object& message, const std::string& field,
                              boost::json::object& out);

}  // namespace citadel::http
