// What /v1/ocr and image chat make of their inputs before anything reaches
// a model: image headers read without decoding (real files in
// tests/data/ocr, made by tools/ocr_inputs), PDF pages rendered by poppler
// at the mode's resolution, the limits, and the request bodies (JSON,
// multipart, chat content parts).
#include "host/http/api_error.h"
#include "host/http/image_chat_translate.h"
#include "host/http/image_header.h"
#include "host/http/ocr_pages.h"
#include "host/http/ocr_request.h"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <iterator>

namespace json = boost::json;
using namespace citadel;
using namespace citadel::http;

namespace {

std::vector<uint8_t> data_file(const std::string& name) {
  std::ifstream file(test::source_dir() / "tests/data/ocr" / name, std::ios::binary);
  REQUIRE(file.good());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

template <typename Function>
ApiError error_of(Function function) {
  try {
    function();
  } catch (const ApiError& error) {
    return error;
  }
  return ApiError(0, "", "no error");
}

OcrOptions options_with(const std::string& json_text) {
  return read_ocr_options(json::parse(json_text).as_object(), 100);
}

}  // namespace

TEST_CASE("image headers give format and size without decoding", "[http][ocr]") {
  const std::vector<std::pair<std::string, ImageHeader>> cases{
      {"gradient.png", {"png", 48, 32}},   {"gradient.jpg", {"jpeg", 48, 32}},
      {"gradient.webp", {"webp", 30, 20}}, {"lossy.webp", {"webp", 33, 21}},
      {"tall.bmp", {"bmp", 5, 40}},        {"bomb.png", {"png", 100000, 100000}}};
  for (const auto& [name, expected] : cases) {
    INFO(name);
    const std::optional<ImageHeader> header = read_image_header(data_file(name));
    REQUIRE(header.has_value());
    CHECK(header->format == expected.format);
    CHECK(header->width == expected.width);
    CHECK(header->height == expected.height);
  }
  // VP8X (extended WebP): canvas size minus one in 24 bits.
  std::vector<uint8_t> vp8x{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X',
                            10,  0,   0,   0,   0, 0, 0, 0, 0x3f, 0x42, 0x0f, 0x1f, 0, 0};
  const std::optional<ImageHeader> extended = read_image_header(vp8x);
  REQUIRE(extended.has_value());
  CHECK(extended->width == 1000000);
  CHECK(extended->height == 32);
  CHECK_FALSE(read_image_header(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}).has_value());
  CHECK_FALSE(read_image_header({}).has_value());
  CHECK(looks_like_pdf(data_file("three_pages.pdf")));
  CHECK_FALSE(looks_like_pdf(data_file("gradient.png")));
}

TEST_CASE("a JPEG's size is read past fill and extraneous bytes, and an unreadable JPEG never reaches stb", "[http][ocr]") {
  std::vector<uint8_t> jpeg = data_file("gradient.jpg");
  // Two stray bytes before the second segment: decoders skip them (stb and
  // libjpeg resynchronise on the next 0xFF), so the header must too.
  const size_t second = 4 + ((size_t{jpeg[4]} << 8) | jpeg[5]);
  jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(second), {0x00, 0x17});
  const std::optional<ImageHeader> header = read_image_header(jpeg);
  REQUIRE(header.has_value());
  CHECK(header->format == "jpeg");
  CHECK(header->width == 48);
  CHECK(header->height == 32);
  // Fill bytes 0xFF before SOI: stb reads the file as a JPEG, so must we.
  jpeg.insert(jpeg.begin(), {0xff, 0xff});
  const std::optional<ImageHeader> filled = read_image_header(jpeg);
  REQUIRE(filled.has_value());
  CHECK(filled->format == "jpeg");
  CHECK(filled->width == 48);
  // SOI and a Huffman table of 4080 codes, no frame header: refused here,
  // not handed to stb's reader (which stb 2.27 would overrun).
  std::vector<uint8_t> no_frame{0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x10};
  no_frame.insert(no_frame.end(), 16, 0xff);
  CHECK_FALSE(read_image_header(no_frame).has_value());
}

TEST_CASE("the rendering resolution follows the mode and stops at max_pdf_dpi", "[http][ocr]") {
  CHECK(pdf_render_dpi(612, 792, std::string("base"), 300) == Approx(72.0 * 1024 / 792));
  CHECK(pdf_render_dpi(792, 612, std::string("tiny"), 300) == Approx(72.0 * 512 / 792));
  CHECK(pdf_render_dpi(612, 792, std::nullopt, 300) == Approx(72.0 * 1920 / 792));
  CHECK(pdf_render_dpi(612, 792, std::string("gundam"), 300) == Approx(72.0 * 1920 / 792));
  CHECK(pdf_render_dpi(100, 100, std::string("large"), 300) == 300);
}

TEST_CASE("an image is one page sent as uploaded; limits are checked from its header", "[http][ocr]") {
  const std::vector<uint8_t> png = data_file("gradient.png");
  const std::vector<OcrPage> pages = prepare_ocr_pages(png, "image", {}, {});
  REQUIRE(pages.size() == 1);
  CHECK(pages[0].number == 1);
  CHECK(pages[0].width == 48);
  CHECK(pages[0].payload == png);
  const ApiError bomb = error_of([&] { prepare_ocr_pages(data_file("bomb.png"), "file", {}, {}); });
  CHECK(bomb.status() == 400);
  CHECK(bomb.param() == "file");
  CHECK(bomb.code() == "image_too_large");
  CHECK_THAT(bomb.what(), Catch::Contains("100000x100000"));
  config::InputLimits small;
  small.max_image_pixels = 1000;
  CHECK_THAT(error_of([&] { prepare_ocr_pages(png, "image", {}, small); }).what(),
             Catch::Contains("at most 1000 pixels"));
  const ApiError text = error_of([] { prepare_ocr_pages({'a', 'b', 'c'}, "image", {}, {}); });
  CHECK(text.code() == "invalid_image");
  CHECK(text.param() == "image");
}

#if defined(CITADEL_HAVE_PDF)
TEST_CASE("a PDF becomes one rendered PNG page each, in the chosen range", "[http][ocr]") {
  const std::vector<uint8_t> pdf = data_file("three_pages.pdf");
  const std::vector<OcrPage> pages = prepare_ocr_pages(pdf, "file", options_with(R"({"mode":"tiny"})"), {});
  REQUIRE(pages.size() == 3);
  // 200x300 pt, 300x150 pt, 100x200 pt turned by /Rotate 90: the longer side comes to 512 pixels.
  const std::vector<std::pair<uint32_t, uint32_t>> sizes{{341, 512}, {512, 256}, {512, 256}};
  for (size_t i = 0; i < pages.size(); ++i) {
    INFO("page " << i + 1);
    CHECK(pages[i].number == i + 1);
    CHECK(std::abs(static_cast<int>(pages[i].width) - static_cast<int>(sizes[i].first)) <= 1);
    CHECK(std::abs(static_cast<int>(pages[i].height) - static_cast<int>(sizes[i].second)) <= 1);
    const std::optional<ImageHeader> header = read_image_header(pages[i].payload);
    REQUIRE(header.has_value());
    CHECK(header->format == "png");
    CHECK(header->width == pages[i].width);
    CHECK(header->height == pages[i].height);
  }
  const std::vector<OcrPage> range =
      prepare_ocr_pages(pdf, "file", options_with(R"({"mode":"tiny","first_page":2,"last_page":3,"max_pages":1})"), {});
  REQUIRE(range.size() == 1);
  CHECK(range[0].number == 2);
}
#endif  // CITADEL_HAVE_PDF

#if defined(CITADEL_HAVE_PDF)
TEST_CASE("pages rendered on several threads are the pages rendered on one", "[http][ocr]") {
  const std::vector<uint8_t> pdf = data_file("three_pages.pdf");
  const OcrOptions options = options_with(R"({"mode":"small"})");
  const std::vector<OcrPage> serial = prepare_ocr_pages(pdf, "file", options, {}, true, 1);
  const std::vector<OcrPage> parallel = prepare_ocr_pages(pdf, "file", options, {}, true, 3);
  REQUIRE(parallel.size() == serial.size());
  for (size_t i = 0; i < serial.size(); ++i) {
    CHECK(parallel[i].number == serial[i].number);
    CHECK(parallel[i].payload == serial[i].payload);
  }
  config::InputLimits narrow;
  narrow.max_image_side = 300;  // checked before rendering, whatever the thread count
  CHECK(error_of([&] { prepare_ocr_pages(pdf, "file", options, narrow, true, 3); }).code() == "image_too_large");
}
#endif  // CITADEL_HAVE_PDF

#if defined(CITADEL_HAVE_PDF)
TEST_CASE("bad PDFs and too many pages are 400s naming the field", "[http][ocr]") {
  const ApiError corrupt = error_of([&] { prepare_ocr_pages(data_file("corrupt.pdf"), "file", {}, {}); });
  CHECK(corrupt.status() == 400);
  CHECK(corrupt.code() == "invalid_pdf");
  CHECK(corrupt.param() == "file");
  config::InputLimits two_pages;
  two_pages.max_pdf_pages = 2;
  const ApiError many = error_of([&] { prepare_ocr_pages(data_file("three_pages.pdf"), "file", {}, two_pages); });
  CHECK(many.code() == "too_many_pages");
  CHECK_THAT(many.what(), Catch::Contains("asks for 3 pages"));
  CHECK(prepare_ocr_pages(data_file("three_pages.pdf"), "file", options_with(R"({"max_pages":2,"mode":"tiny"})"),
                          two_pages)
            .size() == 2);
  CHECK(error_of([&] { prepare_ocr_pages(data_file("three_pages.pdf"), "file", options_with(R"({"first_page":4})"), {}); })
            .param() == "first_page");
  config::InputLimits narrow;
  narrow.max_image_side = 1000;
  const ApiError wide = error_of([&] { prepare_ocr_pages(data_file("three_pages.pdf"), "file", {}, narrow); });
  CHECK(wide.code() == "image_too_large");
  CHECK_THAT(wide.what(), Catch::Contains("page 1 rendered at"));
  CHECK(error_of([&] { prepare_ocr_pages(data_file("three_pages.pdf"), "image_url", {}, {}, false); }).code() ==
        "unsupported_document");
}
#endif  // CITADEL_HAVE_PDF

#if !defined(CITADEL_HAVE_PDF)
TEST_CASE("a build without poppler refuses PDFs with a 400 saying so", "[http][ocr]") {
  const ApiError refused = error_of([&] { prepare_ocr_pages(data_file("three_pages.pdf"), "file", {}, {}); });
  CHECK(refused.code() == "unsupported_document");
  CHECK_THAT(refused.what(), Catch::Contains("CITADEL_PDF=OFF"));
}
#endif

TEST_CASE("OCR JSON bodies: image or file, options validated", "[http][ocr]") {
  const OcrRequest request = parse_ocr_json(
      R"({"model":"ocr","file":"data:application/pdf;base64,JVBERi0=","prompt":"read","mode":"base",)"
      R"("max_tokens":9,"grounding":true,"first_page":2,"last_page":5,"stream":true})",
      100);
  CHECK(request.model == std::optional<std::string>("ocr"));
  CHECK(request.document_field == "file");
  CHECK(request.document == std::vector<uint8_t>{'%', 'P', 'D', 'F', '-'});
  CHECK(request.options.grounding);
  CHECK(request.options.stream);
  CHECK(request.options.first_page == 2);
  CHECK(request.options.last_page == std::optional<uint32_t>(5));
  const json::object input = json::parse(ocr_native_input(request.options)).as_object();
  CHECK(input.at("prompt").as_string() == "read");
  CHECK(input.at("mode").as_string() == "base");
  CHECK(input.at("max_tokens").to_number<int>() == 9);
  CHECK_FALSE(input.contains("grounding"));
  CHECK(error_of([] { parse_ocr_json(R"({"model":"ocr"})", 100); }).param() == "image");
  CHECK(error_of([] { parse_ocr_json(R"({"image":"!!"})", 100); }).code() == "invalid_base64");
  CHECK(error_of([] { parse_ocr_json(R"({"image":"AAEC","file":"AAEC"})", 100); }).param() == "file");
  CHECK(error_of([] { parse_ocr_json(R"({"image":"AAEC","max_tokens":1000})", 100); }).param() == "max_tokens");
  CHECK(error_of([] { parse_ocr_json(R"({"image":"AAEC","mode":"huge"})", 100); }).param() == "mode");
  CHECK(error_of([] { parse_ocr_json(R"({"image":"AAEC","first_page":3,"last_page":2})", 100); }).param() ==
        "last_page");
}

TEST_CASE("OCR multipart uploads: the file part and typed form fields", "[http][ocr]") {
  const std::string content_type = "multipart/form-data; boundary=zz";
  const std::string body =
      "--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
      "%PDF-\r\n--zz\r\nContent-Disposition: form-data; name=\"max_tokens\"\r\n\r\n7\r\n"
      "--zz\r\nContent-Disposition: form-data; name=\"grounding\"\r\n\r\ntrue\r\n"
      "--zz\r\nContent-Disposition: form-data; name=\"temperature\"\r\n\r\n0.5\r\n"
      "--zz\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nocr\r\n--zz--\r\n";
  const OcrRequest request = parse_ocr_multipart(body, content_type, 100);
  CHECK(request.document_field == "file");
  CHECK(request.document == std::vector<uint8_t>{'%', 'P', 'D', 'F', '-'});
  CHECK(request.options.max_tokens == 7);
  CHECK(request.options.grounding);
  CHECK(request.options.temperature == std::optional<double>(0.5));
  CHECK(request.model == std::optional<std::string>("ocr"));
  auto form = [](const std::string& parts) { return parts + "--zz--\r\n"; };
  auto field = [](const std::string& name, const std::string& value) {
    return "--zz\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  };
  CHECK(error_of([&] { parse_ocr_multipart(form(field("file", "x") + field("max_tokens", "seven")), content_type, 100); })
            .param() == "max_tokens");
  CHECK(error_of([&] { parse_ocr_multipart(form(field("file", "x") + field("colour", "red")), content_type, 100); })
            .code() == "unknown_field");
  CHECK(error_of([&] { parse_ocr_multipart(form(field("file", "x") + field("image", "y")), content_type, 100); })
            .param() == "image");
  CHECK(error_of([&] { parse_ocr_multipart(form(field("prompt", "x")), content_type, 100); }).param() == "file");
  CHECK(error_of([&] { parse_ocr_multipart(form(field("file", "x") + field("mode", "a") + field("mode", "b")),
                                           content_type, 100); })
            .param() == "mode");
  const ApiError malformed = error_of([&] { parse_ocr_multipart("--zz\r\nno", content_type, 100); });
  CHECK(malformed.code() == "invalid_multipart");
  CHECK_THAT(malformed.what(), Catch::Contains("multipart/form-data body is malformed"));
  CHECK(error_of([&] { parse_ocr_multipart(form(field("file", "x")), "multipart/form-data", 100); }).code() ==
        "invalid_multipart");
}

TEST_CASE("chat content parts give the prompt and one data: URL image", "[http][ocr]") {
  const ImageChatRequest request = parse_image_chat_request(
      R"({"model":"ocr","messages":[{"role":"system","content":"Be exact."},{"role":"user","content":[)"
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAEC"}},)"
      R"({"type":"text","text":"<|grounding|>Convert the document to markdown."}]}],)"
      R"("max_completion_tokens":5,"mode":"small","stream":true,"stream_options":{"include_usage":true}})",
      100);
  CHECK(request.model == "ocr");
  CHECK(request.image == std::vector<uint8_t>{0, 1, 2});
  CHECK(request.image_field == "messages[1].content[0].image_url.url");
  CHECK(request.options.prompt == std::optional<std::string>("Be exact.\n<|grounding|>Convert the document to markdown."));
  CHECK(request.options.max_tokens == 5);
  CHECK(request.options.mode == std::optional<std::string>("small"));
  CHECK(request.include_usage);
  const std::string image_part = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAEC"}})";
  auto body_with = [](const std::string& parts) {
    return R"({"model":"ocr","messages":[{"role":"user","content":[)" + parts + "]}]}";
  };
  const ApiError remote = error_of([&] {
    parse_image_chat_request(body_with(R"({"type":"image_url","image_url":{"url":"https://example.com/a.png"}})"), 100);
  });
  CHECK(remote.status() == 400);
  CHECK(remote.code() == "unsupported_url");
  CHECK(remote.param() == "messages[0].content[0].image_url.url");
  CHECK_THAT(remote.what(), Catch::Contains("never fetches"));
  const ApiError two = error_of([&] { parse_image_chat_request(body_with(image_part + "," + image_part), 100); });
  CHECK(two.code() == "too_many_images");
  CHECK(two.param() == "messages[0].content[1].image_url.url");
  CHECK(error_of([&] { parse_image_chat_request(body_with(R"({"type":"text","text":"hi"})"), 100); }).code() ==
        "missing_image");
  CHECK(error_of([&] { parse_image_chat_request(body_with(R"({"type":"audio","audio":{}})"), 100); }).code() ==
        "unsupported_content");
  CHECK(error_of([&] {
          parse_image_chat_request(body_with(R"({"type":"image_url","image_url":{"url":"data:image/png,raw"}})"), 100);
        }).param() == "messages[0].content[0].image_url.url");
  CHECK(chat_body_model(R"({"model":"m"})") == std::optional<std::string>("m"));
  CHECK_FALSE(chat_body_model("not json").has_value());
}
