#include "host/admin/admin_table_format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace citadel::admin {
namespace {

bool is_scalar(const boost::json::value& value) { return !value.is_object() && !value.is_array(); }

std::string upper(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

}  // namespace

std::string format_value(const boost::json::value& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return std::string(value.as_string());
  if (value.is_double()) {  // shortest form that reads back the same: 12.5, not 1.25E1
    char text[64];
    const auto result = std::to_chars(text, text + sizeof(text), value.as_double());
    return std::string(text, result.ptr);
  }
  if (value.is_array()) {
    const boost::json::array& array = value.as_array();
    if (std::all_of(array.begin(), array.end(), is_scalar)) {
      std::string joined;
      for (const boost::json::value& item : array) joined += (joined.empty() ? "" : ", ") + format_value(item);
      return joined;
    }
  }
  return boost::json::serialize(value);
}

bool is_table(const boost::json::value& value) {
  if (!value.is_array() || value.as_array().empty()) return false;
  const boost::json::array& array = value.as_array();
  return std::all_of(array.begin(), array.end(), [](const boost::json::value& v) { return v.is_object(); });
}

std::string format_table(const boost::json::array& rows, std::size_t indent) {
  std::vector<std::string> columns;
  for (const boost::json::value& row : rows) {
    if (!row.is_object()) continue;
    for (const auto& field : row.as_object()) {
      const std::string key(field.key());
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
    }
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header;
  for (const std::string& column : columns) header.push_back(upper(column));
  cells.push_back(std::move(header));
  for (const boost::json::value& row : rows) {
    if (!row.is_object()) continue;
    std::vector<std::string> line;
    for (const std::string& column : columns) {
      const boost::json::value* cell = row.as_object().if_contains(column);
      line.push_back(cell == nullptr ? "-" : format_value(*cell));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> widths(columns.size(), 0);
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  std::string text;
  for (const auto& line : cells) {
    std::string row(indent, ' ');
    for (std::size_t i = 0; i < line.size(); ++i) {
      row += line[i];
      if (i + 1 < line.size()) row += std::string(widths[i] - line[i].size() + 2, ' ');
    }
    text += row + '\n';
  }
  return text;
}

std::string format_object(const boost::json::object& object, std::size_t indent) {
  std::string text;
  const std::string pad(indent, ' ');
  for (const auto& field : object) {
    const std::string key(field.key());
    const boost::json::value& value = field.value();
    if (value.is_object() && !value.as_object().empty()) {
      text += pad + key + ":\n" + format_object(value.as_object(), indent + 2);
    } else if (is_table(value)) {
      text += pad + key + ":\n" + format_table(value.as_array(), indent + 2);
    } else if (value.is_array() && value.as_array().empty()) {
      text += pad + key + ": (none)\n";
    } else {
      text += pad + key + ": " + format_value(value) + '\n';
    }
  }
  return text;
}

std::string format_reply(const boost::json::object& reply) {
  boost::json::object fields = reply;
  fields.erase("ok");
  fields.erase("id");
  fields.erase("more");
  if (fields.size() == 1 && is_table(fields.begin()->value())) {
    return format_table(fields.begin()->value().as_array());
  }
  return format_object(fields);
}

}  // namespace citadel::admin
