// multipart/form-data: the boundary parameter, the delimiter lines, and the
// header block of each part (RFC 2046 section 5.1.1, RFC 7578 section 4).
#include "host/http/multipart_form.h"

#include <algorithm>
#include <cctype>

namespace citadel::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// RFC 2045 token characters (header parameter names and unquoted values).
bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// RFC 2046 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space.
bool is_boundary_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// Splits "type; a=b; c=\"d\"" into the leading value and its parameters
// (names lower-cased). `what` names the header in errors.
struct HeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> parameters;
};

HeaderValue parse_header_value(std::string_view text, std::string_view what) {
  HeaderValue result;
  size_t at = text.find(';');
  result.value = lower(trim(text.substr(0, at)));
  while (at != std::string_view::npos) {
    ++at;  // past ';'
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    if (at == text.size()) break;  // a trailing ';'
    size_t name_end = at;
    while (name_end < text.size() && is_token_char(text[name_end])) ++name_end;
    std::string name = lower(text.substr(at, name_end - at));
    size_t cursor = name_end;
    while (cursor < text.size() && (text[cursor] == ' ' || text[cursor] == '\t')) ++cursor;
    if (name.empty() || cursor >= text.size() || text[cursor] != '=')
      throw MultipartError(std::string(what) + ": malformed parameter at \"" +
                           std::string(text.substr(at, 40)) + "\"");
    ++cursor;
    while (cursor < text.size() && (text[cursor] == ' ' || text[cursor] == '\t')) ++cursor;
    std::string value;
    if (cursor < text.size() && text[cursor] == '"') {
      ++cursor;
      bool closed = false;
      while (cursor < text.size()) {
        const char c = text[cursor++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && cursor < text.size()) {
          value += text[cursor++];
          continue;
        }
        value += c;
      }
      if (!closed)
        throw MultipartError(std::string(what) + ": parameter " + name + " has an unterminated quoted string");
    } else {
      const size_t start = cursor;
      while (cursor < text.size() && is_token_char(text[cursor])) ++cursor;
      value = std::string(text.substr(start, cursor - start));
      if (value.empty())
        throw MultipartError(std::string(what) + ": parameter " + name + " has no value");
    }
    while (cursor < text.size() && (text[cursor] == ' ' || text[cursor] == '\t')) ++cursor;
    if (cursor < text.size() && text[cursor] != ';')
      throw MultipartError(std::string(what) + ": unexpected text after parameter " + name);
    for (const auto& [seen, unused] : result.parameters)
      if (seen == name) throw MultipartError(std::string(what) + ": parameter " + name + " is given twice");
    result.parameters.emplace_back(std::move(name), std::move(value));
    at = cursor < text.size() ? cursor : std::string_view::npos;
  }
  return result;
}

const std::string* find_parameter(const HeaderValue& header, std::string_view name) {
  for (const auto& [key, value] : header.parameters)
    if (key == name) return &value;
  return nullptr;
}

// Reads the header block of part `index` (1-based, for messages) into `part`.
void read_part_headers(std::string_view block, size_t index, FormPart& part) {
  const std::string where = "multipart part " + std::to_string(index);
  if (block.starts_with(" ") || block.starts_with("\t") || block.find("\r\n ") != std::string_view::npos ||
      block.find("\r\n\t") != std::string_view::npos)
    throw MultipartError(where + ": folded header lines are not allowed");
  bool has_disposition = false;
  bool has_type = false;
  size_t at = 0;
  while (at < block.size()) {
    size_t end = block.find(kCrlf, at);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(at, end - at);
    at = end + kCrlf.size();
    if (line.find_first_of("\r\n") != std::string_view::npos)
      throw MultipartError(where + ": header lines must end with CRLF");
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_token_char))
      throw MultipartError(where + ": malformed header line \"" + std::string(line.substr(0, 60)) + "\"");
    const std::string name = lower(line.substr(0, colon));
    const std::string_view value = line.substr(colon + 1);
    if (name == "content-disposition") {
      if (has_disposition) throw MultipartError(where + ": Content-Disposition is given twice");
      has_disposition = true;
      const HeaderValue disposition = parse_header_value(value, where + " Content-Disposition");
      if (disposition.value != "form-data")
        throw MultipartError(where + ": Content-Disposition must be form-data (got \"" + disposition.value + "\")");
      const std::string* field_name = find_parameter(disposition, "name");
      if (field_name == nullptr || field_name->empty())
        throw MultipartError(where + ": Content-Disposition has no name parameter");
      part.name = *field_name;
      if (const std::string* filename = find_parameter(disposition, "filename")) part.filename = *filename;
    } else if (name == "content-type") {
      if (has_type) throw MultipartError(where + ": Content-Type is given twice");
      has_type = true;
      part.content_type = parse_header_value(value, where + " Content-Type").value;
      if (part.content_type.empty()) throw MultipartError(where + ": Content-Type is empty");
    } else if (name == "content-transfer-encoding") {
      const std::string encoding = lower(trim(value));
      if (encoding != "7bit" && encoding != "8bit" && encoding != "binary")
        throw MultipartError(where + ": Content-Transfer-Encoding " + encoding +
                             " is not supported (send the bytes as they are)");
    }
  }
  if (!has_disposition) throw MultipartError(where + ": Content-Disposition is missing");
  if (!has_type) part.content_type = "text/plain";
}

}  // namespace

bool is_multipart_form(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';')))) == "multipart/form-data";
}

std::string multipart_boundary(std::string_view content_type) {
  const HeaderValue header = parse_header_value(content_type, "Content-Type");
  if (header.value != "multipart/form-data")
    throw MultipartError("Content-Type must be multipart/form-data (got \"" + header.value + "\")");
  const std::string* boundary = find_parameter(header, "boundary");
  if (boundary == nullptr) throw MultipartError("Content-Type multipart/form-data has no boundary parameter");
  if (boundary->empty() || boundary->size() > 70)
    throw MultipartError("the multipart boundary must be 1 to 70 characters (got " +
                         std::to_string(boundary->size()) + ")");
  if (!std::all_of(boundary->begin(), boundary->end(), is_boundary_char) || boundary->back() == ' ')
    throw MultipartError("the multipart boundary has a character RFC 2046 does not allow, or ends in a space");
  return *boundary;
}

std::vector<FormPart> parse_multipart_form(std::string_view body, std::string_view boundary,
                                           const MultipartLimits& limits) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string inner_delimiter = std::string(kCrlf) + delimiter;
  size_t at = 0;  // the start of a delimiter line
  if (!body.starts_with(delimiter)) {
    const size_t found = body.find(inner_delimiter);
    if (found == std::string_view::npos)
      throw MultipartError("the multipart body has no boundary line --" + std::string(boundary));
    at = found + kCrlf.size();
  }
  std::vector<FormPart> parts;
  for (;;) {
    size_t cursor = at + delimiter.size();
    if (body.substr(cursor).starts_with("--")) {  // the close delimiter; the epilogue is ignored
      if (parts.empty()) throw MultipartError("the multipart body has no parts");
      return parts;
    }
    while (cursor < body.size() && (body[cursor] == ' ' || body[cursor] == '\t')) ++cursor;
    if (!body.substr(cursor).starts_with(kCrlf))
      throw MultipartError(cursor >= body.size()
                               ? "the multipart body ends before its closing boundary"
                               : "a line starts with the boundary but is not a boundary line");
    cursor += kCrlf.size();
    const size_t end = body.find(inner_delimiter, cursor);
    if (end == std::string_view::npos)
      throw MultipartError("the multipart body ends before its closing boundary");
    if (parts.size() == limits.max_parts)
      throw MultipartError("the multipart body has more than " + std::to_string(limits.max_parts) + " parts");
    const std::string_view part_text = body.substr(cursor, end - cursor);
    FormPart part;
    const size_t index = parts.size() + 1;
    size_t header_end = part_text.starts_with(kCrlf) ? 0 : part_text.find("\r\n\r\n");
    if (header_end == std::string_view::npos)
      throw MultipartError("multipart part " + std::to_string(index) + ": no empty line ends its headers");
    if (header_end > limits.max_part_header_bytes)
      throw MultipartError("multipart part " + std::to_string(index) + ": headers longer than " +
                           std::to_string(limits.max_part_header_bytes) + " bytes");
    read_part_headers(part_text.substr(0, header_end), index, part);
    part.body = part_text.substr(header_end + (header_end == 0 ? 2 : 4));
    parts.push_back(std::move(part));
    at = end + kCrlf.size();
  }
}

}  // namespace citadel::http
