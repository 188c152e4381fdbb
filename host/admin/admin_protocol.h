// The admin socket's wire format, shared by the server and citadelctl.
//
// Newline-delimited JSON. A request is one object with a "cmd" string; its
// other fields are arguments; an optional "id" is echoed in every reply line.
// Each reply line is an object: success {"ok": true, ...}, error
// {"ok": false, "error": {"code": ..., "message": ...}}. Intermediate lines of
// a streamed reply carry "more": true; the line without it ends the reply.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace citadel::admin {

// Error codes of the protocol (handlers may use others).
namespace error_code {
inline constexpr const char* bad_json = "bad_json";
inline constexpr const char* bad_request = "bad_request";
inline constexpr const char* unknown_command = "unknown_command";
inline constexpr const char* line_too_long = "line_too_long";
inline constexpr const char* forbidden = "forbidden";
inline constexpr const char* not_found = "not_found";
inline constexpr const char* failed = "failed";
}  // namespace error_code

// Result of parsing one request line: either a request or an error reply.
struct ParsedRequest {
  boost::json::object request;          // the whole object (valid when error_code is empty)
  std::string command;                  // request["cmd"]
  std::optional<boost::json::value> id; // request["id"], echoed in replies
  std::string error_code;               // set when the line is not a valid request
  std::string error_message;

  bool ok() const { return error_code.empty(); }
};

// Parses one line (without its newline). Never throws.
ParsedRequest parse_request_line(std::string_view line);

// {"ok": false, "error": {"code": code, "message": message}}
boost::json::object make_error_reply(std::string_view code, std::string_view message);

// Serializes a reply line with "id" set (when given) and a trailing newline.
std::string serialize_reply_line(boost::json::object line,
                                 const std::optional<boost::json::value>& id);

// True when a reply line is an intermediate line of a streamed reply.
bool is_intermediate_line(const boost::json::object& line);
// True when a reply line reports success ("ok": true).
bool is_ok_line(const boost::json::object& line);

}  // namespace citadel::admin
