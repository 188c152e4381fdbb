// A strict reader of multipart/form-data bodies (RFC 7578 over the multipart
// syntax of RFC 2046 section 5.1), for file uploads to /v1/ocr. Boost.Beast
// has none. Strict means: the boundary parameter must follow RFC 2046's
// character and length rules, every line break is CRLF, every part carries
// `Content-Disposition: form-data; name="..."`, the body must end with the
// close delimiter, and a line that starts with the delimiter but is not one
// (RFC 2046 forbids the boundary inside a part) is an error. Preamble and
// epilogue are ignored, as RFC 2046 says. Other part headers are ignored as
// RFC 7578 says, except Content-Transfer-Encoding other than 7bit, 8bit or
// binary, which is refused (no decoding is done).
//
// Called by ocr_request.cpp and the [http] unit tests and the multipart_form
// fuzz target. Pure functions; parts point into the body they were read from.
// Errors are MultipartError with a message naming what is wrong.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

class MultipartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MultipartLimits {
  size_t max_parts = 32;               // parts in one body
  size_t max_part_header_bytes = 4096;  // the header block of one part
};

struct FormPart {
  std::string name;                     // Content-Disposition name (non-empty)
  std::optional<std::string> filename;  // Content-Disposition filename, if given
  std::string content_type;             // lower-cased media type; "text/plain" when absent
  std::string_view body;                // the part's bytes, inside the parsed body
};

// The boundary of a Content-Type header value "multipart/form-data;
// boundary=..." (token or quoted string). Throws MultipartError when the
// media type is not multipart/form-data or the boundary is missing or not
// 1-70 characters of RFC 2046's bchars, not ending in a space.
std::string multipart_boundary(std::string_view content_type);

// Whether a Content-Type header value names multipart/form-data (any
// parameters), case-insensitively.
bool is_multipart_form(std::string_view content_type);

// Every part of `body` in order. Throws MultipartError.
std::vector<FormPart> parse_multipart_form(std::string_view body, std::string_view boundary,
                                           const MultipartLimits& limits = {});

}  // namespace citadel::http
