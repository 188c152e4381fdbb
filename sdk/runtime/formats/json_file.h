// Helpers for reading Hugging Face JSON files (config.json, tokenizer.json,
// tokenizer_config.json, quantize_config.json) with errors that name the file
// and the field. Used by the tokenizer, the safetensors index reader and the
// plugins' config loaders.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::runtime {

// Parses a whole file; throws RuntimeError (IO or INVALID_ARGUMENT) naming it
// (and the line/column of a syntax error).
boost::json::value read_json_file(const std::filesystem::path& path);
// Parses text; `source` names it in errors.
boost::json::value parse_json(std::string_view text, const std::string& source);

// Typed field access on an object. `where` names the file (or file:section)
// for error messages. The optional_* forms return nullopt when the field is
// absent or null and throw when it has the wrong type; the required_* forms
// throw when absent too. Numbers accept ints and doubles alike.
const boost::json::object& as_object(const boost::json::value& value, const std::string& where);
std::optional<std::string> optional_string(const boost::json::object& object, std::string_view key,
                                           const std::string& where);
std::optional<double> optional_number(const boost::json::object& object, std::string_view key,
                                      const std::string& where);
std::optional<int64_t> optional_int(const boost::json::object& object, std::string_view key,
                                    const std::string& where);
std::optional<bool> optional_bool(const boost::json::object& object, std::string_view key,
                                  const std::string& where);
std::string required_string(const boost::json::object& object, std::string_view key,
                            const std::string& where);
double required_number(const boost::json::object& object, std::string_view key,
                       const std::string& where);
int64_t required_int(const boost::json::object& object, std::string_view key,
                     const std::string& where);
// Number value to double (int64, uint64 or double); throws otherwise.
double number_value(const boost::json::value& value, const std::string& where);

}  // namespace citadel::runtime
