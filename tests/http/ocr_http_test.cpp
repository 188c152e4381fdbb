// /v1/ocr and image chat through the real citadel binary and the
// image-probe test plugin (tests/plugins/image_probe_plugin.cpp), which
// answers "bytes=<n> head=<hex> fnv=<hash> size=<w>x<h> mode=<m>
// prompt=<p>" for the payload it was sent (plus two grounding spans when the
// prompt asks): so each test sees exactly which bytes reached the model, for
// multipart and base64 uploads, data: URLs, PDF pages, streams, and the
// limits of the models.d `inputs:` block.
#include "host/http/base64.h"
#include "http/limits_host.hpp"
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>

namespace json = boost::json;
using citadel::test::HostTree;
using citadel::test::HttpClient;
using citadel::test::HttpResponse;

namespace {

std::string data_file(const std::string& name) {
  std::ifstream file(citadel::test::source_dir() / "tests/data/ocr" / name, std::ios::binary);
  REQUIRE(file.good());
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::string base64(const std::string& bytes) {
  return citadel::http::base64_encode(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

// What the probe says about a payload (its first part, up to "mode=").
std::string probe_description(const std::string& bytes, const std::string& size) {
  char head[17] = {};
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i)
    std::snprintf(head + 2 * i, 3, "%02x", static_cast<unsigned char>(bytes[i]));
  uint64_t fnv = 14695981039346656037ull;
  for (char byte : bytes) fnv = (fnv ^ static_cast<unsigned char>(byte)) * 1099511628211ull;
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv));
  return "bytes=" + std::to_string(bytes.size()) + " head=" + head + " fnv=" + hash + " size=" + size;
}

struct Part {
  std::string name;
  std::string value;
  std::string filename;  // non-empty: a file part
};

std::string multipart_body(const std::vector<Part>& parts) {
  std::string body;
  for (const Part& part : parts) {
    body += "--citadel-test-boundary\r\nContent-Disposition: form-data; name=\"" + part.name + "\"";
    if (!part.filename.empty()) body += "; filename=\"" + part.filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + part.value + "\r\n";
  }
  return body + "--citadel-test-boundary--\r\n";
}

const std::map<std::string, std::string> kMultipart{
    {"Content-Type", "multipart/form-data; boundary=citadel-test-boundary"}};

struct OcrHost {
  OcrHost() : tree("127.0.0.1:0") {
    tree.install_plugin("image-probe", "image-probe");
    tree.write_raw("models.d/ocr.yaml", "name: ocr\nplugin: image-probe\ndevice: cpu\n");
    tree.write_raw("models.d/strict.yaml",
                   "name: strict\nplugin: image-probe\ndevice: cpu\n"
                   "inputs:\n  max_pdf_pages: 2\n  max_image_pixels: 1000\n");
    tree.write_model("text", "echo");
    process = tree.start();
    port = citadel::test::wait_for_http_port(*process);
    REQUIRE(port != 0);
  }
  HttpClient client() const { return HttpClient("127.0.0.1", port); }

  HostTree tree;
  std::unique_ptr<citadel::test::CitadelProcess> process;
  uint16_t port = 0;
};

void check_error(const HttpResponse& response, const std::string& code, const std::string& param,
                 const std::string& words) {
  INFO(response.body);
  REQUIRE(response.status == 400);
  const json::value body = response.json();
  const json::object& error = body.at("error").as_object();
  CHECK(error.at("code").as_string() == code);
  CHECK(error.at("param").as_string() == param);
  CHECK_THAT(std::string(error.at("message").as_string()), Catch::Contains(words));
}

}  // namespace

TEST_CASE("OCR of an uploaded image: multipart and base64 JSON send the same bytes to the model", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  const std::string png = data_file("gradient.png");
  const HttpResponse upload = client.request(
      "POST", "/v1/ocr",
      multipart_body({{"model", "ocr"}, {"file", png, "page.png"}, {"prompt", "Free OCR."}, {"mode", "small"}}),
      kMultipart);
  INFO(upload.body);
  REQUIRE(upload.status == 200);
  const json::value upload_json = upload.json();
  const json::object& document = upload_json.as_object();
  const std::string expected = probe_description(png, "48x32") + " mode=small prompt=Free OCR.";
  CHECK(document.at("object").as_string() == "ocr");
  CHECK(document.at("text").as_string() == expected);
  REQUIRE(document.at("pages").as_array().size() == 1);
  const json::object& page = document.at("pages").at(0).as_object();
  CHECK(page.at("page").to_number<int>() == 1);
  CHECK(page.at("width").to_number<int>() == 48);
  CHECK(page.at("height").to_number<int>() == 32);
  CHECK(document.at("finish_reason").as_string() == "stop");

  const std::string jpeg = data_file("gradient.jpg");
  const HttpResponse json_upload = client.post_json(
      "/v1/ocr", json::serialize(json::object{{"image", "data:image/jpeg;base64," + base64(jpeg)}}));
  INFO(json_upload.body);
  REQUIRE(json_upload.status == 200);
  CHECK(json_upload.json().at("text").as_string() == probe_description(jpeg, "48x32") + " mode=none prompt=none");
  CHECK(json_upload.json().at("model").as_string() == "ocr");  // the first image_to_text model
}

#if defined(CITADEL_HAVE_PDF)
TEST_CASE("OCR of a PDF: one request per page, page numbers, the range options", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  const std::string pdf = data_file("three_pages.pdf");
  const HttpResponse response = client.request(
      "POST", "/v1/ocr", multipart_body({{"model", "ocr"}, {"file", pdf, "doc.pdf"}, {"mode", "tiny"}}), kMultipart);
  INFO(response.body);
  REQUIRE(response.status == 200);
  const json::value body = response.json();
  const json::array& pages = body.at("pages").as_array();
  REQUIRE(pages.size() == 3);
  std::string joined;
  for (size_t i = 0; i < pages.size(); ++i) {
    const json::object& page = pages[i].as_object();
    CHECK(page.at("page").to_number<size_t>() == i + 1);
    CHECK(page.at("dpi").to_number<double>() > 0);
    const std::string size = std::to_string(page.at("width").to_number<int>()) + "x" +
                             std::to_string(page.at("height").to_number<int>());
    const std::string text(page.at("text").as_string());
    CHECK_THAT(text, Catch::StartsWith("bytes="));
    CHECK_THAT(text, Catch::Contains("head=89504e470d0a1a0a"));  // a PNG rendered by the host
    CHECK_THAT(text, Catch::Contains("size=" + size + " mode=tiny"));
    CHECK(std::max(page.at("width").to_number<int>(), page.at("height").to_number<int>()) == 512);
    joined += (joined.empty() ? "" : "\n\n") + text;
  }
  CHECK(response.json().at("text").as_string() == joined);
  CHECK(response.json().at("usage").at("completion_tokens").to_number<int>() > 0);

  const HttpResponse range = client.post_json(
      "/v1/ocr", json::serialize(json::object{{"file", base64(pdf)}, {"mode", "tiny"}, {"first_page", 2},
                                              {"max_pages", 1}}));
  INFO(range.body);
  REQUIRE(range.status == 200);
  REQUIRE(range.json().at("pages").as_array().size() == 1);
  CHECK(range.json().at("pages").at(0).at("page").to_number<int>() == 2);
}
#endif  // CITADEL_HAVE_PDF

#if defined(CITADEL_HAVE_PDF)
TEST_CASE("a streamed PDF sends its pages in page order, with boxes as spans close", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  const std::string pdf = data_file("three_pages.pdf");
  const std::string body = json::serialize(json::object{{"model", "ocr"},
                                                        {"file", base64(pdf)},
                                                        {"mode", "tiny"},
                                                        {"prompt", "<|grounding|>Convert the document to markdown."},
                                                        {"grounding", true},
                                                        {"stream", true}});
  const HttpResponse whole_response =
      client.post_json("/v1/ocr", json::serialize(json::object{{"file", base64(pdf)},
                                                               {"mode", "tiny"},
                                                               {"prompt", "<|grounding|>Convert the document to markdown."},
                                                               {"grounding", true}}));
  REQUIRE(whole_response.status == 200);
  const json::value whole = whole_response.json();
  const json::array& whole_pages = whole.at("pages").as_array();
  const HttpResponse streamed = client.post_json("/v1/ocr", body);
  REQUIRE(streamed.status == 200);
  const std::vector<std::string> events = citadel::test::parse_sse_events(streamed.body);
  REQUIRE(events.size() > 3);
  CHECK(events.back() == "[DONE]");
  std::vector<std::string> texts(3);
  std::vector<size_t> boxes(3, 0);
  int last_page = 1;
  int finals = 0;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const json::object chunk = json::parse(events[i]).as_object();
    REQUIRE(chunk.at("object").as_string() == "ocr.chunk");
    const int page = chunk.at("page").to_number<int>();
    CHECK(page >= last_page);  // page by page
    last_page = page;
    if (const json::value* text = chunk.if_contains("text")) texts.at(page - 1) += text->as_string();
    if (const json::value* found = chunk.if_contains("boxes")) boxes.at(page - 1) += found->as_array().size();
    if (chunk.at("final").as_bool()) ++finals;
  }
  CHECK(finals == 3);
  const json::object done = json::parse(events[events.size() - 2]).as_object();
  CHECK(done.at("object").as_string() == "ocr.done");
  CHECK(done.at("pages").to_number<int>() == 3);
  for (size_t page = 0; page < 3; ++page) {
    CHECK(texts[page] == whole_pages[page].at("text").as_string());
    CHECK(boxes[page] == 3);
    CHECK(whole_pages[page].at("boxes").as_array().size() == 3);
  }
}
#endif  // CITADEL_HAVE_PDF

TEST_CASE("grounding boxes come back in pixels of the image", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  const HttpResponse response = client.request(
      "POST", "/v1/ocr",
      multipart_body({{"file", data_file("gradient.png"), "a.png"},
                      {"prompt", "<|grounding|>OCR this image."},
                      {"grounding", "true"}}),
      kMultipart);
  INFO(response.body);
  REQUIRE(response.status == 200);
  const json::value body = response.json();
  const json::array& boxes = body.at("pages").at(0).at("boxes").as_array();
  REQUIRE(boxes.size() == 3);
  // 48x32 image: int(v / 999 * 48) and int(v / 999 * 32).
  CHECK(boxes[0].at("label").as_string() == "title");
  CHECK(json::serialize(boxes[0].at("box")) == "[0,0,48,15]");
  CHECK(boxes[1].at("label").as_string() == "cell");
  CHECK(json::serialize(boxes[1].at("box")) == "[24,16,48,32]");
  CHECK(json::serialize(boxes[2].at("box")) == "[0,0,4,3]");
  const HttpResponse plain = client.request(
      "POST", "/v1/ocr", multipart_body({{"file", data_file("gradient.png"), "a.png"}, {"prompt", "<|grounding|>x"}}),
      kMultipart);
  CHECK_FALSE(plain.json().at("pages").at(0).as_object().contains("boxes"));
}

TEST_CASE("bad uploads are 400s naming the field, and the models.d limits hold", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  auto upload = [&](const std::string& model, const std::string& bytes) {
    return client.request("POST", "/v1/ocr", multipart_body({{"model", model}, {"file", bytes, "x"}}), kMultipart);
  };
  check_error(upload("ocr", "just some text, no image"), "invalid_image", "file", "is not an image");
#if defined(CITADEL_HAVE_PDF)
  check_error(upload("ocr", data_file("corrupt.pdf")), "invalid_pdf", "file", "damaged PDF");
  check_error(upload("ocr", data_file("bomb.png")), "image_too_large", "file", "100000x100000");
  check_error(upload("strict", data_file("three_pages.pdf")), "too_many_pages", "file", "at most 2");
#endif
  check_error(upload("strict", data_file("gradient.png")), "image_too_large", "file", "at most 1000 pixels");
  check_error(client.request("POST", "/v1/ocr", "--citadel-test-boundary\r\nbroken", kMultipart), "invalid_multipart",
              "body", "malformed");
  check_error(client.request("POST", "/v1/ocr", multipart_body({{"file", "x", "a"}, {"pages", "1-2"}}), kMultipart),
              "unknown_field", "pages", "unknown form field 'pages'");
  const HttpResponse wrong_task = client.post_json("/v1/ocr", R"({"model":"text","image":"AAEC"})");
  CHECK(wrong_task.status == 400);
  // The host still serves after every refusal.
  CHECK(upload("ocr", data_file("gradient.png")).status == 200);
}

TEST_CASE("chat completions with an image_url part, for an image_to_text model", "[http][ocr]") {
  OcrHost host;
  HttpClient client = host.client();
  const std::string png = data_file("gradient.png");
  auto chat_body = [&](const json::array& content, bool stream = false) {
    return json::serialize(json::object{{"model", "ocr"},
                                        {"messages", json::array{json::object{{"role", "user"}, {"content", content}}}},
                                        {"grounding", true},
                                        {"stream", stream}});
  };
  const json::object image_part{{"type", "image_url"},
                                {"image_url", json::object{{"url", "data:image/png;base64," + base64(png)}}}};
  const json::object text_part{{"type", "text"}, {"text", "<|grounding|>OCR this image."}};
  const HttpResponse response = client.post_json("/v1/chat/completions", chat_body({image_part, text_part}));
  INFO(response.body);
  REQUIRE(response.status == 200);
  CHECK(response.json().at("object").as_string() == "chat.completion");
  const json::value body = response.json();
  const json::object& message = body.at("choices").at(0).at("message").as_object();
  CHECK_THAT(std::string(message.at("content").as_string()),
             Catch::StartsWith(probe_description(png, "48x32") + " mode=none prompt=<|grounding|>OCR this image."));
  CHECK(message.at("boxes").as_array().size() == 3);

  const HttpResponse streamed = client.post_json("/v1/chat/completions", chat_body({text_part, image_part}, true));
  REQUIRE(streamed.status == 200);
  std::string content;
  size_t boxes = 0;
  for (const std::string& event : citadel::test::parse_sse_events(streamed.body)) {
    if (event == "[DONE]") continue;
    const json::object chunk = json::parse(event).as_object();
    CHECK(chunk.at("object").as_string() == "chat.completion.chunk");
    const json::object& delta = chunk.at("choices").at(0).at("delta").as_object();
    if (const json::value* text = delta.if_contains("content")) content += text->as_string();
    if (const json::value* found = delta.if_contains("boxes")) boxes += found->as_array().size();
  }
  CHECK(content == message.at("content").as_string());
  CHECK(boxes == 3);

  const json::object remote{{"type", "image_url"}, {"image_url", json::object{{"url", "https://example.com/a.png"}}}};
  check_error(client.post_json("/v1/chat/completions", chat_body({remote})), "unsupported_url",
              "messages[0].content[0].image_url.url", "never fetches");
  check_error(client.post_json("/v1/chat/completions", chat_body({image_part, image_part})), "too_many_images",
              "messages[0].content[1].image_url.url", "one image per request");
  const json::object pdf_part{
      {"type", "image_url"},
      {"image_url", json::object{{"url", "data:application/pdf;base64," + base64(data_file("three_pages.pdf"))}}}};
  check_error(client.post_json("/v1/chat/completions", chat_body({pdf_part})), "unsupported_document",
              "messages[0].content[0].image_url.url", "send PDFs to /v1/ocr");
  // A text model still gets ordinary chat.
  const HttpResponse text = client.post_json(
      "/v1/chat/completions", R"({"model":"text","messages":[{"role":"user","content":"abc"}],"max_tokens":3})");
  CHECK(text.status == 200);
}
