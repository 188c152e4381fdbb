// Parsing of the structured-output request fields and the grammar they ask for.
#include "runtime/structured/structured_request.h"

#include "runtime/core/error.h"
#include "runtime/structured/json_schema_compiler.h"
#include "runtime/structured/tool_call_grammar.h"

#include <boost/json.hpp>

namespace citadel::runtime::structured {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw_invalid("request input: '" + field + "' " + what);
}

const json::value* field_of(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  return (value == nullptr || value->is_null()) ? nullptr : value;
}

std::string function_name(const json::value& tool, size_t index) {
  const std::string field = "tools[" + std::to_string(index) + "]";
  const json::object* object = tool.if_object();
  if (object == nullptr) bad(field, "must be an object");
  const json::value* type = object->if_contains("type");
  if (type == nullptr || !type->is_string() || type->as_string() != "function")
    bad(field + ".type", "must be \"function\"");
  const json::value* function = object->if_contains("function");
  if (function == nullptr || !function->is_object()) bad(field + ".function", "must be an object");
  const json::value* name = function->as_object().if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty())
    bad(field + ".function.name", "must be a non-empty string");
  if (const json::value* parameters = function->as_object().if_contains("parameters");
      parameters != nullptr && !parameters->is_object() && !parameters->is_null())
    bad(field + ".function.parameters", "must be a JSON schema object");
  return std::string(name->as_string());
}

}  // namespace

StructuredRequest parse_structured_request(const json::object& input) {
  StructuredRequest request;
  if (const json::value* constraint = field_of(input, "constraint")) {
    const json::object* object = constraint->if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) bad("constraint.type", "must be \"json_object\" or \"json_schema\"");
    if (type->as_string() == "json_schema") {
      const json::value* schema = object->if_contains("schema");
      if (schema == nullptr || !(schema->is_object() || schema->is_bool()))
        bad("constraint.schema", "must be a JSON schema");
    } else if (type->as_string() != "json_object") {
      bad("constraint.type", "must be \"json_object\" or \"json_schema\"");
    }
    request.constraint = *constraint;
  }
  if (const json::value* tools = field_of(input, "tools")) {
    if (!tools->is_array()) bad("tools", "must be an array of tool objects");
    size_t index = 0;
    for (const json::value& tool : tools->as_array()) {
      function_name(tool, index++);
      request.tools.push_back(tool);
    }
  }
  if (const json::value* choice = field_of(input, "tool_choice")) {
    if (choice->is_string()) {
      const json::string& name = choice->as_string();
      if (name == "none") request.tool_choice = ToolChoice::none;
      else if (name == "auto") request.tool_choice = ToolChoice::auto_;
      else if (name == "required") request.tool_choice = ToolChoice::required;
      else bad("tool_choice", "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", ...}");
    } else {
      const json::object* object = choice->if_object();
      const json::value* function = object ? object->if_contains("function") : nullptr;
      const json::value* name = function && function->is_object() ? function->as_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string())
        bad("tool_choice", "must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}");
      request.tool_choice = ToolChoice::function;
      request.tool_choice_name = std::string(name->as_string());
      bool known = false;
      for (size_t i = 0; i < request.tools.size(); ++i) known = known || function_name(request.tools[i], i) == request.tool_choice_name;
      if (!known) bad("tool_choice", "names function '" + request.tool_choice_name + "', which is not in 'tools'");
    }
    if (request.tools.empty() && request.tool_choice != ToolChoice::none && request.tool_choice != ToolChoice::auto_)
      bad("tool_choice", "asks for a tool call but 'tools' is empty");
  }
  if (const json::value* parallel = field_of(input, "parallel_tool_calls")) {
    if (!parallel->is_bool()) bad("parallel_tool_calls", "must be true or false");
    request.parallel_tool_calls = parallel->as_bool();
  }
  return request;
}

std::vector<ChatToolCall> parse_message_tool_calls(const json::object& message, size_t index) {
  std::vector<ChatToolCall> calls;
  const json::value* list = field_of(message, "tool_calls");
  if (list == nullptr) return calls;
  const std::string field = "messages[" + std::to_string(index) + "].tool_calls";
  if (!list->is_array()) bad(field, "must be an array");
  size_t i = 0;
  for (const json::value& item : list->as_array()) {
    const std::string at = field + "[" + std::to_string(i++) + "]";
    const json::object* call = item.if_object();
    const json::value* function = call ? call->if_contains("function") : nullptr;
    if (function == nullptr || !function->is_object()) bad(at + ".function", "must be an object");
    const json::value* name = function->as_object().if_contains("name");
    const json::value* arguments = function->as_object().if_contains("arguments");
    if (name == nullptr || !name->is_string()) bad(at + ".function.name", "must be a string");
    ChatToolCall parsed;
    parsed.name = std::string(name->as_string());
    if (arguments == nullptr || arguments->is_null()) parsed.arguments = "{}";
    else if (arguments->is_string()) parsed.arguments = std::string(arguments->as_string());
    else parsed.arguments = json::serialize(*arguments);
    boost::system::error_code error;
    json::parse(parsed.arguments, error);
    if (error) bad(at + ".function.arguments", "is not JSON text");
    if (const json::value* id = call->if_contains("id"); id && id->is_string()) parsed.id = std::string(id->as_string());
    calls.push_back(std::move(parsed));
  }
  return calls;
}

std::shared_ptr<const Grammar> request_grammar(const StructuredRequest& request, ChatStyle style) {
  const bool forced = request.has_tools() &&
                      (request.tool_choice == ToolChoice::required || request.tool_choice == ToolChoice::function);
  // "auto" in the Hermes form: free text whose <tool_call> blocks are well formed.
  const bool guarded = request.has_tools() && request.tool_choice == ToolChoice::auto_ && !request.constraint &&
                       style == ChatStyle::chatml;
  if (forced || guarded) {
    std::vector<ToolFunction> functions;
    for (size_t i = 0; i < request.tools.size(); ++i) {
      const json::object& function = request.tools[i].as_object().at("function").as_object();
      const std::string name(function.at("name").as_string());
      if (request.tool_choice == ToolChoice::function && name != request.tool_choice_name) continue;
      const json::value* parameters = function.if_contains("parameters");
      functions.push_back({name, parameters ? *parameters : json::value(nullptr),
                           "tools[" + std::to_string(i) + "].function.parameters"});
    }
    if (guarded) return tool_call_auto_grammar(functions, request.parallel_tool_calls ? 8 : 1);
    const bool several = request.parallel_tool_calls && request.tool_choice == ToolChoice::required;
    return tool_call_grammar(style == ChatStyle::chatml ? ToolCallSyntax::hermes : ToolCallSyntax::llama3_json,
                             functions, several ? 8 : 1);
  }
  if (!request.constraint) return nullptr;
  const json::object& constraint = request.constraint->as_object();
  auto grammar = std::make_shared<Grammar>();
  if (constraint.at("type").as_string() == "json_object") {
    grammar->root = add_any_object(*grammar);
  } else {
    grammar->root = add_json_schema(*grammar, constraint.at("schema"), "response_format.json_schema.schema");
  }
  return grammar;
}

}  // namespace citadel::runtime::structured
