// /v1/ocr bodies: JSON and multipart/form-data into one OcrRequest.
#include "host/http/ocr_request.h"

#include "host/http/api_error.h"
#include "host/http/multipart_form.h"
#include "host/http/request_fields.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace citadel::http {

namespace json = boost::json;

const std::vector<std::string> kOcrModes{"tiny", "small", "base", "large", "gundam"};

namespace {

const std::vector<std::string> kDocumentFields{"file", "image"};
const std::vector<std::string> kIntegerFields{"max_tokens", "top_k", "seed", "first_page", "last_page",
                                              "max_pages"};
const std::vector<std::string> kNumberFields{"temperature", "top_p"};
const std::vector<std::string> kBoolFields{"stream", "grounding"};
const std::vector<std::string> kStringFields{"model", "prompt", "mode"};

bool is_one_of(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A form field's text as the JSON value its name calls for.
json::value form_value(const std::string& name, std::string_view text) {
  if (is_one_of(kIntegerFields, name)) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      throw bad_request("form field '" + name + "' must be an integer (got \"" +
                            std::string(text.substr(0, 40)) + "\")",
                        name, "invalid_type");
    return value;
  }
  if (is_one_of(kNumberFields, name)) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      throw bad_request("form field '" + name + "' must be a number (got \"" +
                            std::string(text.substr(0, 40)) + "\")",
                        name, "invalid_type");
    return value;
  }
  if (is_one_of(kBoolFields, name)) {
    if (text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
    throw bad_request("form field '" + name + "' must be true or false", name, "invalid_type");
  }
  return json::string(text);
}

}  // namespace

OcrOptions read_ocr_options(const json::object& body, uint32_t max_tokens_limit) {
  OcrOptions options;
  options.prompt = optional_string(body, "prompt");
  options.mode = optional_string(body, "mode");
  if (options.mode && !is_one_of(kOcrModes, *options.mode))
    throw bad_request("'mode' must be one of tiny, small, base, large, gundam (got \"" + *options.mode + "\")",
                      "mode");
  options.max_tokens = static_cast<uint32_t>(
      optional_integer_in(body, "max_tokens", 1, max_tokens_limit).value_or(max_tokens_limit));
  options.temperature = optional_number_in(body, "temperature", 0.0, 2.0);
  options.top_p = optional_number_in(body, "top_p", 0.0, 1.0);
  options.top_k = optional_integer_in(body, "top_k", -1, 1 << 20);
  options.seed = optional_integer(body, "seed");
  options.grounding = optional_bool(body, "grounding").value_or(false);
  options.stream = optional_bool(body, "stream").value_or(false);
  constexpr int64_t kMaxPage = std::numeric_limits<int32_t>::max();
  options.first_page = static_cast<uint32_t>(optional_integer_in(body, "first_page", 1, kMaxPage).value_or(1));
  if (auto last = optional_integer_in(body, "last_page", 1, kMaxPage)) {
    if (*last < options.first_page)
      throw bad_request("'last_page' must not be before 'first_page'", "last_page");
    options.last_page = static_cast<uint32_t>(*last);
  }
  if (auto pages = optional_integer_in(body, "max_pages", 1, kMaxPage)) options.max_pages = static_cast<uint32_t>(*pages);
  return options;
}

OcrRequest parse_ocr_json(std::string_view body_text, uint32_t max_tokens_limit) {
  const json::object body = parse_json_object(body_text);
  OcrRequest request;
  request.model = optional_string(body, "model");
  const std::optional<std::string> image = optional_string(body, "image");
  const std::optional<std::string> file = optional_string(body, "file");
  if (image && file) throw bad_request("give one of 'image' and 'file', not both", "file");
  if (!image && !file)
    throw bad_request("'image' (or 'file') is required: an image or a PDF, base64 or a data URL", "image",
                      "missing_field");
  request.document_field = image ? "image" : "file";
  request.document = decode_base64_field(image ? *image : *file, request.document_field);
  request.options = read_ocr_options(body, max_tokens_limit);
  return request;
}

OcrRequest parse_ocr_multipart(std::string_view body, std::string_view content_type,
                               uint32_t max_tokens_limit) {
  std::vector<FormPart> parts;
  try {
    parts = parse_multipart_form(body, multipart_boundary(content_type));
  } catch (const MultipartError& error) {
    throw bad_request(std::string("the multipart/form-data body is malformed: ") + error.what(), "body",
                      "invalid_multipart");
  }
  OcrRequest request;
  json::object fields;
  for (const FormPart& part : parts) {
    if (is_one_of(kDocumentFields, part.name)) {
      if (!request.document_field.empty())
        throw bad_request("the upload has more than one file (form fields '" + request.document_field +
                              "' and '" + part.name + "'); send one image or PDF per request",
                          part.name);
      request.document_field = part.name;
      request.document.assign(part.body.begin(), part.body.end());
      if (request.document.empty()) throw bad_request("form field '" + part.name + "' is empty", part.name);
      continue;
    }
    if (!is_one_of(kIntegerFields, part.name) && !is_one_of(kNumberFields, part.name) &&
        !is_one_of(kBoolFields, part.name) && !is_one_of(kStringFields, part.name))
      throw bad_request("unknown form field '" + part.name + "'", part.name, "unknown_field");
    if (fields.contains(part.name))
      throw bad_request("form field '" + part.name + "' is given twice", part.name);
    fields[part.name] = form_value(part.name, part.body);
  }
  if (request.document_field.empty())
    throw bad_request("the upload has no file: send the image or PDF as form field 'file'", "file",
                      "missing_field");
  request.model = optional_string(fields, "model");
  request.options = read_ocr_options(fields, max_tokens_limit);
  return request;
}

std::string ocr_native_input(const OcrOptions& options) {
  json::object input;
  if (options.prompt) input["prompt"] = *options.prompt;
  if (options.mode) input["mode"] = *options.mode;
  input["max_tokens"] = options.max_tokens;
  if (options.temperature) input["temperature"] = *options.temperature;
  if (options.top_p) input["top_p"] = *options.top_p;
  if (options.top_k) input["top_k"] = *options.top_k;
  if (options.seed) input["seed"] = *options.seed;
  return json::serialize(input);
}

}  // namespace citadel::http
