// Fuzz target: raw bytes from an HTTP client. They are parsed as the
// session does (Beast's request parser, header and body limits, several
// requests on one keep-alive connection), each request is routed through a
// RouteTable holding the server's routes (as register_endpoints adds them;
// the handlers themselves are not run), and the body of a POST to a
// translating endpoint goes to its translator (request_translation.hpp).
// Every error must be an ApiError whose body is valid JSON.
#include "fuzz_support.hpp"
#include "request_translation.hpp"

#include "host/http/api_error.h"
#include "host/http/route_table.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace citadel;

// Smaller than the server's defaults (64 KiB header, 16 MiB body) so that
// the fuzzer reaches both limits with short inputs.
constexpr uint32_t kHeaderLimitBytes = 2048;
constexpr uint64_t kBodyLimitBytes = 4096;

const http::RouteTable& routes() {
  static const http::RouteTable table = [] {
    http::RouteTable filled;
    for (const char* path : {"/health", "/ready", "/metrics", "/v1/models", "/v1/models/*"})
      filled.add(bhttp::verb::get, path, {});
    for (const char* path : {"/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize",
                             "/v1/ocr", "/v1/videos", "/inference", "/benchmark"})
      filled.add(bhttp::verb::post, path, {});
    return filled;
  }();
  return table;
}

void check_error_body(const http::ApiError& error) {
  boost::system::error_code parse_error;
  const json::value body = json::parse(error.error_body(), parse_error);
  if (parse_error || !body.is_object()) {
    std::fprintf(stderr, "http finding: status %u error body is not JSON: %s\n", error.status(),
                 error.error_body().c_str());
    std::abort();
  }
}

void handle(const bhttp::request<bhttp::string_body>& request) {
  const std::string route = routes().route_label(request.target());
  try {
    routes().find(request.method(), request.target());
  } catch (const http::ApiError& error) {
    check_error_body(error);
    return;
  }
  if (std::optional<fuzz::Endpoint> endpoint = fuzz::endpoint_of_route(route))
    fuzz::translate_request(*endpoint, request.body());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::asio::const_buffer input(data, size);
  while (input.size() > 0) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimitBytes);
    parser.body_limit(kBodyLimitBytes);
    parser.eager(true);
    boost::beast::error_code error;
    const size_t used = parser.put(input, error);
    input += used;
    if (error || !parser.is_done()) break;  // malformed or incomplete: the session answers or waits
    handle(parser.get());
    if (!parser.get().keep_alive()) break;
  }
  return 0;
}
