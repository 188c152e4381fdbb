// OcrRequest: one /v1/ocr request read from its body, either JSON
// ({"image" or "file": base64 or a data: URL, options...}) or a
// multipart/form-data upload (a file part named "file" or "image" plus form
// fields of the same names as the JSON options), and validated the same way
// for both. Also the native input every page of it is sent to the plugin
// with.
//
// Called by ocr_endpoint.cpp, image_chat_translate.cpp (the options) and the
// [http] unit tests. Errors are ApiError 400 naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace citadel::http {

// The resolution modes of DeepSeek-OCR, as the request names them.
extern const std::vector<std::string> kOcrModes;  // tiny, small, base, large, gundam

struct OcrOptions {
  std::optional<std::string> prompt;
  std::optional<std::string> mode;  // one of kOcrModes
  uint32_t max_tokens = 0;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<int64_t> seed;
  bool grounding = false;  // parse <|ref|>/<|det|> spans into boxes
  bool stream = false;
  // PDFs: the pages to read, 1-based and inclusive; last_page absent: to
  // the end. max_pages caps how many of them are read (the rest ignored).
  uint32_t first_page = 1;
  std::optional<uint32_t> last_page;
  std::optional<uint32_t> max_pages;
};

struct OcrRequest {
  std::optional<std::string> model;
  std::vector<uint8_t> document;  // an image or a PDF, as uploaded
  std::string document_field;     // the field it came in, for errors
  OcrOptions options;
};

// A JSON body (Content-Type application/json or none).
OcrRequest parse_ocr_json(std::string_view body, uint32_t max_tokens_limit);
// A multipart/form-data body; `content_type` is the request's header value.
OcrRequest parse_ocr_multipart(std::string_view body, std::string_view content_type,
                               uint32_t max_tokens_limit);

// The options of a JSON object (the fields named as in OcrOptions);
// max_tokens defaults to max_tokens_limit.
OcrOptions read_ocr_options(const boost::json::object& body, uint32_t max_tokens_limit);

// The plugin's native input for a page: {"prompt"?, "mode"?, "max_tokens",
// "temperature"?, "top_p"?, "top_k"?, "seed"?}.
std::string ocr_native_input(const OcrOptions& options);

}  // namespace citadel::http
