// python_json_dumps: Python's json.dumps layout and escaping.
#include "runtime/text/python_json.h"

#include <boost/json.hpp>

#include <charconv>
#include <cmath>

namespace citadel::runtime {
namespace {

namespace json = boost::json;

void write_string(std::string& out, std::string_view text) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += hex[byte >> 4];
          out += hex[byte & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Python's repr of a float: the shortest round-trip digits, always with a
// '.' or an exponent.
void write_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buffer[64];
  const double magnitude = std::fabs(value);
  const bool scientific = magnitude != 0.0 && (magnitude >= 1e16 || magnitude < 1e-4);
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                              scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string text(buffer, result.ptr);
  // (Both write exponents as e+20 / e-05.)
  if (!scientific && text.find('.') == std::string::npos) text += ".0";
  out += text;
}

void write(std::string& out, const json::value& value, int indent, int level) {
  auto newline = [&](int depth) {
    out += '\n';
    out.append(static_cast<size_t>(indent * depth), ' ');
  };
  switch (value.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += value.as_bool() ? "true" : "false"; return;
    case json::kind::int64: out += std::to_string(value.as_int64()); return;
    case json::kind::uint64: out += std::to_string(value.as_uint64()); return;
    case json::kind::double_: write_double(out, value.as_double()); return;
    case json::kind::string: write_string(out, value.as_string()); return;
    case json::kind::array: {
      const json::array& array = value.as_array();
      if (array.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const json::value& item : array) {
        if (!first) out += indent < 0 ? ", " : ",";
        first = false;
        if (indent >= 0) newline(level + 1);
        write(out, item, indent, level + 1);
      }
      if (indent >= 0) newline(level);
      out += ']';
      return;
    }
    case json::kind::object: {
      const json::object& object = value.as_object();
      if (object.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& member : object) {
        if (!first) out += indent < 0 ? ", " : ",";
        first = false;
        if (indent >= 0) newline(level + 1);
        write_string(out, member.key());
        out += ": ";
        write(out, member.value(), indent, level + 1);
      }
      if (indent >= 0) newline(level);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string python_json_dumps(const json::value& value, int indent) {
  std::string out;
  write(out, value, indent, 0);
  return out;
}

}  // namespace citadel::runtime
