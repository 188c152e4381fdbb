// JSON reading helpers with errors naming the file and field.
#include "runtime/formats/json_file.h"

#include "runtime/core/error.h"

#include <fstream>
#include <sstream>

namespace citadel::runtime {
namespace json = boost::json;

namespace {

const json::value* find_field(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::string field_name(const std::string& where, std::string_view key) {
  return where + ": field \"" + std::string(key) + "\"";
}

}  // namespace

json::value parse_json(std::string_view text, const std::string& source) {
  boost::system::error_code error;
  json::parse_options options;
  options.allow_invalid_utf8 = true;  // tokenizer.json may hold lone byte tokens
  json::value value = json::parse(text, error, {}, options);
  if (error) {
    // Locate the failure: count lines up to where the parser stopped.
    json::stream_parser parser({}, options);
    const size_t consumed = parser.write_some(text.data(), text.size(), error);
    size_t line = 1, column = 1;
    for (size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw_invalid(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                  ": invalid JSON: " + error.message());
  }
  return value;
}

json::value read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) throw_not_found(path.string() + ": file not found");
    throw_io(path.string() + ": cannot read");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_json(buffer.str(), path.string());
}

const json::object& as_object(const json::value& value, const std::string& where) {
  if (!value.is_object()) throw_invalid(where + ": expected a JSON object");
  return value.get_object();
}

double number_value(const json::value& value, const std::string& where) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  if (value.is_double()) return value.get_double();
  throw_invalid(where + ": expected a number");
}

std::optional<std::string> optional_string(const json::object& object, std::string_view key,
                                           const std::string& where) {
  const json::value* value = find_field(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) throw_invalid(field_name(where, key) + " must be a string");
  return std::string(value->get_string());
}

std::optional<double> optional_number(const json::object& object, std::string_view key,
                                      const std::string& where) {
  const json::value* value = find_field(object, key);
  if (value == nullptr) return std::nullopt;
  return number_value(*value, field_name(where, key));
}

std::optional<int64_t> optional_int(const json::object& object, std::string_view key,
                                    const std::string& where) {
  const json::value* value = find_field(object, key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<int64_t>(value->get_uint64());
  if (value->is_double()) {
    const double d = value->get_double();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  throw_invalid(field_name(where, key) + " must be an integer");
}

std::optional<bool> optional_bool(const json::object& object, std::string_view key,
                                  const std::string& where) {
  const json::value* value = find_field(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) throw_invalid(field_name(where, key) + " must be true or false");
  return value->get_bool();
}

std::string required_string(const json::object& object, std::string_view key,
                            const std::string& where) {
  auto value = optional_string(object, key, where);
  if (!value) throw_invalid(field_name(where, key) + " is missing");
  return *value;
}

double required_number(const json::object& object, std::string_view key, const std::string& where) {
  auto value = optional_number(object, key, where);
  if (!value) throw_invalid(field_name(where, key) + " is missing");
  return *value;
}

int64_t required_int(const json::object& object, std::string_view key, const std::string& where) {
  auto value = optional_int(object, key, where);
  if (!value) throw_invalid(field_name(where, key) + " is missing");
  return *value;
}

}  // namespace citadel::runtime
