#include "host/config/yaml_scalar.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <string_view>

namespace citadel::config {
namespace {

// Whether `text` is well-formed UTF-8 (shortest forms, no surrogates, at most
// U+10FFFF) without NUL bytes, so that the plugin options the host serializes
// always parse again (in the plugin, and when a manifest's defaults are merged
// under a model's options) and read whole as C strings.
bool is_option_text(std::string_view text) {
  static constexpr uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    if (lead == 0) return false;
    if (lead < 0x80) {
      ++at;
      continue;
    }
    size_t length = 0;
    uint32_t code = 0;
    if ((lead & 0xE0) == 0xC0) length = 2, code = lead & 0x1F;
    else if ((lead & 0xF0) == 0xE0) length = 3, code = lead & 0x0F;
    else if ((lead & 0xF8) == 0xF0) length = 4, code = lead & 0x07;
    else return false;
    if (at + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[at + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    at += length;
  }
  return true;
}

bool is_string_tag(const std::string& tag) {
  return tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str";
}

bool parse_integer(const std::string& text, ResolvedScalar& out) {
  static const std::regex decimal(R"([-+]?[0-9]+)");
  static const std::regex octal(R"(0o[0-7]+)");
  static const std::regex hexadecimal(R"(0x[0-9a-fA-F]+)");
  int base = 10;
  std::string digits = text;
  if (std::regex_match(text, octal)) {
    base = 8;
    digits = text.substr(2);
  } else if (std::regex_match(text, hexadecimal)) {
    base = 16;
    digits = text.substr(2);
  } else if (!std::regex_match(text, decimal)) {
    return false;
  }
  if (!digits.empty() && digits.front() == '+') digits.erase(0, 1);
  const char* begin = digits.data();
  const char* end = begin + digits.size();
  int64_t value = 0;
  if (auto [ptr, error] = std::from_chars(begin, end, value, base); error == std::errc() && ptr == end) {
    out.type = ScalarType::integer;
    out.integer = value;
    out.floating = static_cast<double>(value);
    return true;
  }
  uint64_t big = 0;
  if (auto [ptr, error] = std::from_chars(begin, end, big, base); error == std::errc() && ptr == end) {
    out.type = ScalarType::unsigned_integer;
    out.unsigned_integer = big;
    out.floating = static_cast<double>(big);
    return true;
  }
  return false;  // too large: a string
}

bool parse_float(const std::string& text, ResolvedScalar& out) {
  static const std::regex number(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex infinity(R"([-+]?\.(inf|Inf|INF))");
  static const std::regex not_a_number(R"(\.(nan|NaN|NAN))");
  if (std::regex_match(text, number)) {
    out.type = ScalarType::floating;
    out.floating = std::strtod(text.c_str(), nullptr);
    return true;
  }
  if (std::regex_match(text, infinity)) {
    out.type = ScalarType::floating;
    out.floating = text.front() == '-' ? -std::numeric_limits<double>::infinity()
                                       : std::numeric_limits<double>::infinity();
    return true;
  }
  if (std::regex_match(text, not_a_number)) {
    out.type = ScalarType::floating;
    out.floating = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  return false;
}

std::string quoted(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }

}  // namespace

ResolvedScalar resolve_scalar(const YAML::Node& node) {
  ResolvedScalar out;
  if (!node.IsDefined() || node.IsNull()) return out;
  out.text = node.Scalar();
  if (is_string_tag(node.Tag())) {
    out.type = ScalarType::string;
    return out;
  }
  const std::string& text = out.text;
  if (text == "true" || text == "True" || text == "TRUE") {
    out.type = ScalarType::boolean;
    out.boolean = true;
    return out;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    out.type = ScalarType::boolean;
    return out;
  }
  if (parse_integer(text, out) || parse_float(text, out)) return out;
  out.type = ScalarType::string;
  return out;
}

std::string describe_value(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  const ResolvedScalar scalar = resolve_scalar(node);
  return scalar.type == ScalarType::string ? quoted(scalar.text) : scalar.text;
}

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

boost::json::value yaml_to_json(const YAML::Node& node, const std::string& file,
                                const std::string& field, std::vector<ConfigProblem>& problems) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    boost::json::array array;
    int index = 0;
    for (const YAML::Node& item : node) {
      array.push_back(yaml_to_json(item, file, field + "[" + std::to_string(index++) + "]", problems));
    }
    return array;
  }
  if (node.IsMap()) {
    boost::json::object object;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        problems.push_back({{file, line_of(entry.first)}, field, "keys must be plain strings"});
        continue;
      }
      const std::string key = entry.first.Scalar();
      if (!is_option_text(key)) {
        problems.push_back({{file, line_of(entry.first)}, field, "keys must be UTF-8 text without NUL bytes"});
        continue;
      }
      object[key] = yaml_to_json(entry.second, file, field + "." + key, problems);
    }
    return object;
  }
  const ResolvedScalar scalar = resolve_scalar(node);
  switch (scalar.type) {
    case ScalarType::null: return nullptr;
    case ScalarType::boolean: return scalar.boolean;
    case ScalarType::integer: return scalar.integer;
    case ScalarType::unsigned_integer: return scalar.unsigned_integer;
    case ScalarType::floating:
      if (!std::isfinite(scalar.floating)) {
        problems.push_back({{file, line_of(node)}, field,
                            "infinite or NaN numbers cannot be passed as JSON (got " + scalar.text + ")"});
        return nullptr;
      }
      return scalar.floating;
    case ScalarType::string:
      if (!is_option_text(scalar.text)) {
        problems.push_back({{file, line_of(node)}, field, "must be UTF-8 text without NUL bytes"});
        return nullptr;
      }
      return boost::json::string(scalar.text);
  }
  return nullptr;
}

}  // namespace citadel::config
