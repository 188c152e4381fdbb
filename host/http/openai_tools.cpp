// response_format / tools / tool_choice -> native input fields.
#include "host/http/openai_tools.h"

#include "host/http/api_error.h"

namespace citadel::http {

namespace json = boost::json;

namespace {

const json::value* present(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return (value == nullptr || value->is_null()) ? nullptr : value;
}

std::optional<json::object> parse_response_format(const json::object& body) {
  const json::value* format = present(body, "response_format");
  if (format == nullptr) return std::nullopt;
  const json::object* object = format->if_object();
  const json::value* type = object ? object->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string())
    throw bad_request("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"",
                      "response_format.type", "invalid_type");
  if (type->as_string() == "text") return std::nullopt;
  if (type->as_string() == "json_object") return json::object{{"type", "json_object"}};
  if (type->as_string() != "json_schema")
    throw bad_request("'response_format.type' must be \"text\", \"json_object\" or \"json_schema\"",
                      "response_format.type");
  const json::value* spec = present(*object, "json_schema");
  if (spec == nullptr || !spec->is_object())
    throw bad_request("'response_format.json_schema' is required and must be an object",
                      "response_format.json_schema", "missing_field");
  const json::object& schema_spec = spec->as_object();
  const json::value* name = schema_spec.if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty())
    throw bad_request("'response_format.json_schema.name' is required and must be a non-empty string",
                      "response_format.json_schema.name", "missing_field");
  if (const json::value* strict = present(schema_spec, "strict"); strict && !strict->is_bool())
    throw bad_request("'response_format.json_schema.strict' must be a boolean", "response_format.json_schema.strict",
                      "invalid_type");
  const json::value* schema = present(schema_spec, "schema");
  if (schema == nullptr) return json::object{{"type", "json_object"}};  // no schema: any JSON object
  if (!schema->is_object() && !schema->is_bool())
    throw bad_request("'response_format.json_schema.schema' must be a JSON schema object",
                      "response_format.json_schema.schema", "invalid_type");
  return json::object{{"type", "json_schema"}, {"schema", *schema}};
}

std::string tool_name(const json::value& tool, size_t index) {
  const std::string field = "tools[" + std::to_string(index) + "]";
  const json::object* object = tool.if_object();
  if (object == nullptr) throw bad_request("'" + field + "' must be an object", field, "invalid_type");
  const json::value* type = object->if_contains("type");
  if (type == nullptr || !type->is_string() || type->as_string() != "function")
    throw bad_request("'" + field + ".type' must be \"function\"", field + ".type");
  const json::value* function = object->if_contains("function");
  if (function == nullptr || !function->is_object())
    throw bad_request("'" + field + ".function' is required and must be an object", field + ".function",
                      "missing_field");
  const json::value* name = function->as_object().if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty())
    throw bad_request("'" + field + ".function.name' is required and must be a non-empty string",
                      field + ".function.name", "missing_field");
  if (const json::value* parameters = present(function->as_object(), "parameters"); parameters && !parameters->is_object())
    throw bad_request("'" + field + ".function.parameters' must be a JSON schema object",
                      field + ".function.parameters", "invalid_type");
  return std::string(name->as_string());
}

}  // namespace

bool StructuredFields::tools_active() const {
  return !tools.empty() && !(tool_choice.is_string() && tool_choice.as_string() == "none");
}

std::vector<std::string> StructuredFields::tool_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < tools.size(); ++i) names.push_back(tool_name(tools[i], i));
  return names;
}

StructuredFields parse_structured_fields(const json::object& body) {
  StructuredFields fields;
  fields.constraint = parse_response_format(body);
  if (const json::value* tools = present(body, "tools")) {
    if (!tools->is_array()) throw bad_request("'tools' must be an array", "tools", "invalid_type");
    fields.tools = tools->as_array();
  }
  const std::vector<std::string> names = fields.tool_names();
  if (const json::value* choice = present(body, "tool_choice")) {
    if (choice->is_string()) {
      const json::string& mode = choice->as_string();
      if (mode != "none" && mode != "auto" && mode != "required")
        throw bad_request("'tool_choice' must be \"none\", \"auto\", \"required\" or a named function",
                          "tool_choice");
      if (mode == "required" && names.empty())
        throw bad_request("'tool_choice' is \"required\" but 'tools' is empty", "tool_choice");
    } else {
      const json::object* object = choice->if_object();
      const json::value* function = object ? object->if_contains("function") : nullptr;
      const json::value* name =
          function && function->is_object() ? function->as_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string())
        throw bad_request("'tool_choice' must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}",
                          "tool_choice", "invalid_type");
      if (std::find(names.begin(), names.end(), std::string(name->as_string())) == names.end())
        throw bad_request("'tool_choice' names the function '" + std::string(name->as_string()) +
                              "', which is not in 'tools'",
                          "tool_choice");
    }
    fields.tool_choice = *choice;
  }
  if (const json::value* parallel = present(body, "parallel_tool_calls")) {
    if (!parallel->is_bool())
      throw bad_request("'parallel_tool_calls' must be a boolean", "parallel_tool_calls", "invalid_type");
    fields.parallel_tool_calls = parallel->as_bool();
  }
  return fields;
}

void add_structured_input(const StructuredFields& fields, json::object& input) {
  if (fields.constraint) input["constraint"] = *fields.constraint;
  if (!fields.tools.empty()) input["tools"] = fields.tools;
  if (!fields.tool_choice.is_null()) input["tool_choice"] = fields.tool_choice;
  if (fields.parallel_tool_calls) input["parallel_tool_calls"] = *fields.parallel_tool_calls;
}

bool copy_message_tool_fields(const json::object& message, const std::string& field, json::object& out) {
  if (const json::value* id = present(message, "tool_call_id")) {
    if (!id->is_string())
      throw bad_request("'" + field + ".tool_call_id' must be a string", field + ".tool_call_id", "invalid_type");
    out["tool_call_id"] = *id;
  }
  const json::value* calls = present(message, "tool_calls");
  if (calls == nullptr) return false;
  if (!calls->is_array())
    throw bad_request("'" + field + ".tool_calls' must be an array", field + ".tool_calls", "invalid_type");
  json::array copied;
  size_t index = 0;
  for (const json::value& call : calls->as_array()) {
    const std::string at = field + ".tool_calls[" + std::to_string(index++) + "]";
    const json::object* object = call.if_object();
    const json::value* function = object ? object->if_contains("function") : nullptr;
    const json::value* name =
        function && function->is_object() ? function->as_object().if_contains("name") : nullptr;
    const json::value* arguments =
        function && function->is_object() ? function->as_object().if_contains("arguments") : nullptr;
    if (name == nullptr || !name->is_string() || arguments == nullptr || !arguments->is_string())
      throw bad_request("'" + at + "' must be {\"id\", \"type\": \"function\", \"function\": {\"name\": string, "
                        "\"arguments\": string}}",
                        at, "invalid_type");
    boost::system::error_code error;
    json::parse(arguments->as_string(), error);
    if (error)
      throw bad_request("'" + at + ".function.arguments' is not valid JSON text", at + ".function.arguments");
    json::object entry{{"type", "function"},
                       {"function", json::object{{"name", *name}, {"arguments", *arguments}}}};
    if (const json::value* id = object->if_contains("id"); id && id->is_string()) entry["id"] = *id;
    copied.push_back(std::move(entry));
  }
  out["tool_calls"] = std::move(copied);
  return !out["tool_calls"].as_array().empty();
}

}  // namespace citadel::http
