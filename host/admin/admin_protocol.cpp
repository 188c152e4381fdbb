#include "host/admin/admin_protocol.h"

namespace citadel::admin {

ParsedRequest parse_request_line(std::string_view line) {
  ParsedRequest parsed;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(line, error);
  if (error) {
    parsed.error_code = error_code::bad_json;
    parsed.error_message = "request is not valid JSON: " + error.message();
    return parsed;
  }
  if (!value.is_object()) {
    parsed.error_code = error_code::bad_request;
    parsed.error_message = "request must be a JSON object with a \"cmd\" string";
    return parsed;
  }
  parsed.request = std::move(value.as_object());
  if (const boost::json::value* id = parsed.request.if_contains("id")) parsed.id = *id;
  const boost::json::value* command = parsed.request.if_contains("cmd");
  if (command == nullptr) {
    parsed.error_code = error_code::bad_request;
    parsed.error_message = "request has no \"cmd\" field";
    return parsed;
  }
  if (!command->is_string() || command->as_string().empty()) {
    parsed.error_code = error_code::bad_request;
    parsed.error_message = "\"cmd\" must be a non-empty string";
    return parsed;
  }
  parsed.command = std::string(command->as_string());
  return parsed;
}

boost::json::object make_error_reply(std::string_view code, std::string_view message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object reply;
  reply["ok"] = false;
  reply["error"] = std::move(error);
  return reply;
}

std::string serialize_reply_line(boost::json::object line,
                                 const std::optional<boost::json::value>& id) {
  if (id) line["id"] = *id;
  std::string text = boost::json::serialize(line);
  text += '\n';
  return text;
}

bool is_intermediate_line(const boost::json::object& line) {
  const boost::json::value* more = line.if_contains("more");
  return more != nullptr && more->is_bool() && more->as_bool();
}

bool is_ok_line(const boost::json::object& line) {
  const boost::json::value* ok = line.if_contains("ok");
  return ok != nullptr && ok->is_bool() && ok->as_bool();
}

}  // namespace citadel::admin
