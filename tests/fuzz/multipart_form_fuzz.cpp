// Fuzz target: multipart/form-data bodies (host/http/multipart_form.h). The
// first byte picks the boundary of the Content-Type header ("b", a 70-byte
// one, or one taken from the start of the rest up to the first newline);
// the parser must either throw MultipartError or return parts that lie
// inside the body, each with a non-empty name and a content type.
#include "fuzz_support.hpp"

#include "host/http/multipart_form.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "multipart finding: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace citadel;
  const fuzz::Selected input = fuzz::select_first_byte(data, size);
  std::string_view body = input.rest;
  std::string content_type;
  switch (input.selector % 3) {
    case 0: content_type = "multipart/form-data; boundary=b"; break;
    case 1: content_type = "multipart/form-data; boundary=\"" + std::string(70, 'x') + "\""; break;
    default: {
      const size_t newline = body.find('\n');
      if (newline == std::string_view::npos) return 0;
      content_type = std::string(body.substr(0, newline));
      body.remove_prefix(newline + 1);
    }
  }
  try {
    const std::string boundary = http::multipart_boundary(content_type);
    if (boundary.empty() || boundary.size() > 70) finding("a boundary outside 1..70 characters was accepted");
    const http::MultipartLimits limits{.max_parts = 8, .max_part_header_bytes = 256};
    for (const http::FormPart& part : http::parse_multipart_form(body, boundary, limits)) {
      if (part.name.empty()) finding("a part without a name was accepted");
      if (part.content_type.empty()) finding("a part without a content type");
      if (part.body.data() < body.data() || part.body.data() + part.body.size() > body.data() + body.size())
        finding("a part's bytes lie outside the body");
    }
  } catch (const http::MultipartError&) {
  }
  return 0;
}
