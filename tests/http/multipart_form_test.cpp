// The multipart/form-data reader: boundary rules of RFC 2046, part headers
// of RFC 7578, and the limits, each as a case that must pass or fail.
#include "host/http/multipart_form.h"

#include <catch2/catch.hpp>

#include <string>

using namespace citadel::http;

namespace {

std::string error_of(const std::string& body, const std::string& boundary = "XyZ",
                     const MultipartLimits& limits = {}) {
  try {
    parse_multipart_form(body, boundary, limits);
  } catch (const MultipartError& error) {
    return error.what();
  }
  return "";
}

std::string boundary_error(const std::string& content_type) {
  try {
    multipart_boundary(content_type);
  } catch (const MultipartError& error) {
    return error.what();
  }
  return "";
}

const std::string kFilePart =
    "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.png\"\r\n"
    "Content-Type: Image/PNG\r\n\r\n\x89PNG\r\n--not the boundary\r\n";

}  // namespace

TEST_CASE("a form with a file and a field gives both parts with their bytes", "[http][multipart]") {
  const std::string body = "preamble to ignore\r\n" + kFilePart +
                           "--XyZ\r\ncontent-disposition: form-data; name=prompt\r\n\r\nFree OCR.\r\n"
                           "--XyZ--\r\nepilogue to ignore";
  const std::vector<FormPart> parts = parse_multipart_form(body, "XyZ");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].name == "file");
  CHECK(parts[0].filename == std::optional<std::string>("page.png"));
  CHECK(parts[0].content_type == "image/png");
  CHECK(parts[0].body == "\x89PNG\r\n--not the boundary");
  CHECK(parts[1].name == "prompt");
  CHECK_FALSE(parts[1].filename.has_value());
  CHECK(parts[1].content_type == "text/plain");
  CHECK(parts[1].body == "Free OCR.");
}

TEST_CASE("quoted names keep escaped quotes and empty parts are allowed", "[http][multipart]") {
  const std::vector<FormPart> parts = parse_multipart_form(
      "--b\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"\"\r\n\r\n\r\n--b--", "b");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].name == "a\"b");
  CHECK(parts[0].filename == std::optional<std::string>(""));
  CHECK(parts[0].body.empty());
}

TEST_CASE("the boundary parameter follows RFC 2046", "[http][multipart]") {
  CHECK(multipart_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(multipart_boundary("Multipart/Form-Data ;BOUNDARY=\"a b'()+_,-./:=?\"") == "a b'()+_,-./:=?");
  CHECK(multipart_boundary("multipart/form-data; charset=utf-8; boundary=" + std::string(70, 'z')).size() == 70);
  CHECK_THAT(boundary_error("multipart/form-data; boundary=" + std::string(71, 'z')),
             Catch::Contains("1 to 70 characters"));
  CHECK_THAT(boundary_error("multipart/form-data; boundary=\"ends in space \""), Catch::Contains("RFC 2046"));
  CHECK_THAT(boundary_error("multipart/form-data; boundary=\"a*b\""), Catch::Contains("RFC 2046"));
  CHECK_THAT(boundary_error("multipart/form-data"), Catch::Contains("no boundary"));
  CHECK_THAT(boundary_error("multipart/mixed; boundary=a"), Catch::Contains("must be multipart/form-data"));
  CHECK_THAT(boundary_error("multipart/form-data; boundary=a; boundary=b"), Catch::Contains("given twice"));
  CHECK_THAT(boundary_error("multipart/form-data; boundary=\"open"), Catch::Contains("unterminated"));
  CHECK(is_multipart_form("multipart/form-data; boundary=x"));
  CHECK_FALSE(is_multipart_form("application/json"));
}

TEST_CASE("malformed bodies are refused with what is wrong", "[http][multipart]") {
  CHECK_THAT(error_of("no delimiter at all"), Catch::Contains("no boundary line"));
  CHECK_THAT(error_of("--XyZ--\r\n"), Catch::Contains("no parts"));
  CHECK_THAT(error_of(kFilePart), Catch::Contains("ends before its closing boundary"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZmore\r\n"),
             Catch::Contains("not a boundary line"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("Content-Disposition is missing"));
  CHECK_THAT(error_of("--XyZ\r\n\r\nx\r\n--XyZ--"), Catch::Contains("Content-Disposition is missing"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("must be form-data"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("no name parameter"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("folded"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("CRLF"));
  CHECK_THAT(error_of("--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--"), Catch::Contains("malformed header line"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("base64 is not supported"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
                      "name=b\r\n\r\nx\r\n--XyZ--"),
             Catch::Contains("given twice"));
  CHECK_THAT(error_of("--XyZ\r\nContent-Disposition: form-data; name=a\r\nx\r\n--XyZ--"),
             Catch::Contains("no empty line"));
}

TEST_CASE("other part headers are ignored and transport padding is allowed", "[http][multipart]") {
  const std::vector<FormPart> parts = parse_multipart_form(
      "--XyZ \t\r\nX-Custom: 1\r\nContent-Disposition: form-data; name=a\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nx\r\n--XyZ--",
      "XyZ");
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].body == "x");
}

TEST_CASE("the part count and header size limits hold", "[http][multipart]") {
  std::string body;
  for (int i = 0; i < 4; ++i) body += "--XyZ\r\nContent-Disposition: form-data; name=f" + std::to_string(i) + "\r\n\r\nv\r\n";
  body += "--XyZ--";
  CHECK(parse_multipart_form(body, "XyZ", {.max_parts = 4}).size() == 4);
  CHECK_THAT(error_of(body, "XyZ", {.max_parts = 3}), Catch::Contains("more than 3 parts"));
  const std::string long_header =
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\nx\r\n--XyZ--";
  CHECK(error_of(long_header, "XyZ", {.max_part_header_bytes = 300}).empty());
  CHECK_THAT(error_of(long_header, "XyZ", {.max_part_header_bytes = 100}), Catch::Contains("longer than 100 bytes"));
}
