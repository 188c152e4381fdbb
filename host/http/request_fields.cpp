// Typed JSON field readers with errors that name the field.
#include "host/http/request_fields.h"

#include "host/http/api_error.h"
#include "host/http/base64.h"

#include <cmath>
#include <sstream>

namespace citadel::http {

namespace json = boost::json;

namespace {

const json::value* find_field(const json::object& body, std::string_view field) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) return nullptr;
  return value;
}

ApiError wrong_type(std::string_view field, std::string_view expected) {
  return bad_request("'" + std::string(field) + "' must be " + std::string(expected),
                     std::string(field), "invalid_type");
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

// True when every number in `value` is finite. Boost.JSON reads a literal
// past the double range (1e999) as infinity, which no JSON writer can put
// back: a body holding one would reach a plugin as text that does not parse.
bool all_numbers_finite(const json::value& value) {
  if (value.is_double()) return std::isfinite(value.get_double());
  if (value.is_array()) {
    for (const json::value& item : value.get_array())
      if (!all_numbers_finite(item)) return false;
  } else if (value.is_object()) {
    for (const auto& field : value.get_object())
      if (!all_numbers_finite(field.value())) return false;
  }
  return true;
}

json::object parse_json_object(std::string_view body) {
  json::error_code error;
  json::value value = json::parse(body, error);  // nesting bounded by Boost.JSON's default depth (32)
  if (error)
    throw bad_request("The request body is not valid JSON: " + error.message(), {}, "invalid_json");
  if (!value.is_object())
    throw bad_request("The request body must be a JSON object", {}, "invalid_json");
  if (!all_numbers_finite(value))
    throw bad_request("The request body holds a number outside the range of a double", {}, "invalid_json");
  return std::move(value.as_object());
}

std::optional<std::string> optional_string(const json::object& body, std::string_view field) {
  const json::value* value = find_field(body, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) throw wrong_type(field, "a string");
  return std::string(value->as_string());
}

std::optional<double> optional_number(const json::object& body, std::string_view field) {
  const json::value* value = find_field(body, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) throw wrong_type(field, "a number");
  return value->to_number<double>();
}

std::optional<int64_t> optional_integer(const json::object& body, std::string_view field) {
  const json::value* value = find_field(body, field);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) {
    if (value->as_uint64() > static_cast<uint64_t>(INT64_MAX)) throw wrong_type(field, "an integer");
    return static_cast<int64_t>(value->as_uint64());
  }
  if (value->is_double()) {
    const double number = value->as_double();
    if (std::floor(number) == number && std::fabs(number) < 9.0e18)
      return static_cast<int64_t>(number);
  }
  throw wrong_type(field, "an integer");
}

std::optional<bool> optional_bool(const json::object& body, std::string_view field) {
  const json::value* value = find_field(body, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) throw wrong_type(field, "a boolean");
  return value->as_bool();
}

std::string required_string(const json::object& body, std::string_view field) {
  std::optional<std::string> value = optional_string(body, field);
  if (!value)
    throw bad_request("'" + std::string(field) + "' is required", std::string(field),
                      "missing_field");
  if (value->empty())
    throw bad_request("'" + std::string(field) + "' must not be empty", std::string(field));
  return *value;
}

std::optional<double> optional_number_in(const json::object& body, std::string_view field,
                                         double low, double high) {
  std::optional<double> value = optional_number(body, field);
  if (value && (*value < low || *value > high || std::isnan(*value)))
    throw bad_request("'" + std::string(field) + "' must be between " + format_number(low) +
                          " and " + format_number(high) + ", got " + format_number(*value),
                      std::string(field));
  return value;
}

std::optional<int64_t> optional_integer_in(const json::object& body, std::string_view field,
                                           int64_t low, int64_t high) {
  std::optional<int64_t> value = optional_integer(body, field);
  if (value && (*value < low || *value > high))
    throw bad_request("'" + std::string(field) + "' must be between " + std::to_string(low) +
                          " and " + std::to_string(high) + ", got " + std::to_string(*value),
                      std::string(field));
  return value;
}

std::vector<uint8_t> decode_base64_field(std::string_view encoded, const std::string& field) {
  if (encoded.starts_with("data:")) {  // data:image/png;base64,....
    const size_t comma = encoded.find(',');
    if (comma == std::string_view::npos || encoded.substr(0, comma).find(";base64") == std::string_view::npos)
      throw bad_request("'" + field + "' must be base64 or a base64 data URL", field);
    encoded.remove_prefix(comma + 1);
  }
  std::optional<std::vector<uint8_t>> bytes = base64_decode(encoded);
  if (!bytes) throw bad_request("'" + field + "' is not valid base64", field, "invalid_base64");
  if (bytes->empty()) throw bad_request("'" + field + "' is empty", field);
  return std::move(*bytes);
}

}  // namespace citadel::http
