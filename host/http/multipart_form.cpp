// multipart/form-data parsing for POST /v1/videos.
#include "host/http/multipart_form.h"

#include "host/http/api_error.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace citadel::http {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The value of `key="..."` (or key=token) in a header's parameters.
std::optional<std::string> header_parameter(std::string_view header, std::string_view key) {
  const std::string lowered = lower(header);
  size_t at = 0;
  while ((at = lowered.find(std::string(key) + "=", at)) != std::string::npos) {
    if (at > 0 && lowered[at - 1] != ' ' && lowered[at - 1] != ';') {
      ++at;
      continue;
    }
    std::string_view rest = header.substr(at + key.size() + 1);
    if (!rest.empty() && rest.front() == '"') {
      const size_t end = rest.find('"', 1);
      return std::string(rest.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
    }
    return std::string(rest.substr(0, rest.find(';')));
  }
  return std::nullopt;
}

ApiError bad_form(const std::string& message) { return bad_request("multipart body: " + message, {}, "invalid_body"); }

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  if (!lower(content_type).starts_with("multipart/form-data")) return std::nullopt;
  std::optional<std::string> boundary = header_parameter(content_type, "boundary");
  if (!boundary || boundary->empty()) throw bad_form("the Content-Type names no boundary");
  return boundary;
}

std::vector<FormPart> parse_multipart_form(std::string_view body, const std::string& boundary) {
  const std::string delimiter = "--" + boundary;
  size_t at = body.find(delimiter);
  if (at == std::string_view::npos) throw bad_form("no boundary line");
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(at, 2) != "\r\n") throw bad_form("a boundary line does not end in CRLF");
    at += 2;
    const size_t headers_end = body.find("\r\n\r\n", at);
    if (headers_end == std::string_view::npos) throw bad_form("a part has no end of headers");
    FormPart part;
    bool named = false;
    for (std::string_view headers = body.substr(at, headers_end - at); !headers.empty();) {
      const size_t line_end = headers.find("\r\n");
      const std::string_view line = headers.substr(0, line_end);
      if (lower(line).starts_with("content-disposition:")) {
        if (std::optional<std::string> name = header_parameter(line, "name")) {
          part.name = *name;
          named = true;
        }
        part.filename = header_parameter(line, "filename");
      }
      if (line_end == std::string_view::npos) break;
      headers.remove_prefix(line_end + 2);
    }
    if (!named) throw bad_form("a part has no Content-Disposition name");
    const size_t value_begin = headers_end + 4;
    const size_t next = body.find("\r\n" + delimiter, value_begin);
    if (next == std::string_view::npos) throw bad_form("part '" + part.name + "' is not closed by a boundary");
    part.value = std::string(body.substr(value_begin, next - value_begin));
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

boost::json::object form_to_json(const std::vector<FormPart>& parts, const std::vector<std::string>& typed_keys) {
  boost::json::object object;
  for (const FormPart& part : parts) {
    if (part.filename)
      throw bad_request("'" + part.name + "': file inputs are not supported", part.name, "unsupported");
    const bool typed = std::find(typed_keys.begin(), typed_keys.end(), part.name) != typed_keys.end();
    int64_t number = 0;
    const auto [end, error] = std::from_chars(part.value.data(), part.value.data() + part.value.size(), number);
    if (typed && error == std::errc() && end == part.value.data() + part.value.size() && !part.value.empty())
      object[part.name] = number;
    else if (typed && (part.value == "true" || part.value == "false"))
      object[part.name] = part.value == "true";
    else
      object[part.name] = part.value;
  }
  return object;
}

}  // namespace citadel::http
