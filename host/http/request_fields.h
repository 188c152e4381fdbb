// Typed readers for the fields of a JSON request body. Each throws an
// ApiError (400) that names the field and says what was expected, so every
// translator reports wrong types the same way.
//
// Called by: openai_translate.cpp, task_translate.cpp, ocr_request.cpp and
// image_chat_translate.cpp.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// Parses a request body that must be a JSON object (400 invalid_json otherwise).
boost::json::object parse_json_object(std::string_view body);

// Missing or null fields give std::nullopt; a value of the wrong type throws.
std::optional<std::string> optional_string(const boost::json::object& body, std::string_view field);
std::optional<double> optional_number(const boost::json::object& body, std::string_view field);
std::optional<int64_t> optional_integer(const boost::json::object& body, std::string_view field);
std::optional<bool> optional_bool(const boost::json::object& body, std::string_view field);

// A field that must be present (and, for strings, non-empty).
std::string required_string(const boost::json::object& body, std::string_view field);

// A number inside [low, high]; the error names the field and the range.
std::optional<double> optional_number_in(const boost::json::object& body, std::string_view field,
                                         double low, double high);
std::optional<int64_t> optional_integer_in(const boost::json::object& body, std::string_view field,
                                           int64_t low, int64_t high);

// Bytes given as base64 or as a base64 data: URL ("data:image/png;base64,...")
// in `field`; 400 (naming the field) when not decodable or empty.
std::vector<uint8_t> decode_base64_field(std::string_view text, const std::string& field);

}  // namespace citadel::http
