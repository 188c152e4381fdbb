// The tests' blocking HTTP client (see support/http_client.hpp).
#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace citadel::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

std::string HttpResponse::header(const std::string& name) const {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto found = headers.find(lower);
  return found == headers.end() ? std::string() : found->second;
}

boost::json::value HttpResponse::json() const { return boost::json::parse(body); }

std::vector<std::string> parse_sse_events(const std::string& body) {
  std::vector<std::string> events;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(start, end - start);
    if (line.rfind("data: ", 0) == 0) events.push_back(line.substr(6));
    start = end + 1;
  }
  return events;
}

struct HttpClient::Impl {
  std::string host;
  uint16_t port = 0;
  net::io_context io;
  std::optional<tcp::socket> socket;
  beast::flat_buffer buffer;
  bool closed_by_server = false;
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> stream_parser;
  std::string stream_pending;

  void connect() {
    socket.emplace(io);
    socket->connect(tcp::endpoint(net::ip::make_address(host), port));
    socket->set_option(tcp::no_delay(true));
    timeval timeout{30, 0};
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    buffer.clear();
    closed_by_server = false;
  }

  void ensure_connected() {
    if (!socket || !socket->is_open() || closed_by_server) connect();
  }

  template <typename Message>
  static HttpResponse to_response(const Message& message, std::string body) {
    HttpResponse response;
    response.status = message.result_int();
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      response.headers[name] = std::string(field.value());
    }
    response.body = std::move(body);
    return response;
  }

  // Reads the next final response, skipping interim 1xx ones (100 Continue).
  HttpResponse read_response() {
    for (;;) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(1ull << 32);
      beast::error_code error;
      bhttp::read(*socket, buffer, parser, error);
      if (error) throw std::runtime_error("http client: reading the response failed: " + error.message());
      if (parser.get().result_int() / 100 == 1) continue;
      closed_by_server = !parser.get().keep_alive();
      return to_response(parser.get(), parser.get().body());
    }
  }

  void send(const std::string& method, const std::string& target, const std::string& body,
            const std::map<std::string, std::string>& headers) {
    ensure_connected();
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
    request.set(bhttp::field::host, host + ":" + std::to_string(port));
    if (!body.empty()) request.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    request.keep_alive(true);
    bhttp::write(*socket, request);
  }
};

HttpClient::HttpClient(std::string host, uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->connect();
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::get(const std::string& target) { return request("GET", target); }

HttpResponse HttpClient::post_json(const std::string& target, const std::string& body) {
  return request("POST", target, body);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                        const std::string& body,
                                        const std::map<std::string, std::string>& headers) {
  impl_->send(method, target, body, headers);
  return impl_->read_response();
}

HttpResponse HttpClient::start_stream(const std::string& target, const std::string& body) {
  impl_->send("POST", target, body, {});
  impl_->stream_parser = std::make_unique<bhttp::response_parser<bhttp::buffer_body>>();
  impl_->stream_parser->body_limit(1ull << 32);
  impl_->stream_pending.clear();
  bhttp::read_header(*impl_->socket, impl_->buffer, *impl_->stream_parser);
  HttpResponse response = Impl::to_response(impl_->stream_parser->get(), {});
  impl_->closed_by_server = !impl_->stream_parser->get().keep_alive();
  if (response.status != 200) {  // an error body, not a stream: read it whole
    while (std::optional<std::string> piece = next_event()) response.body += *piece;
    response.body += impl_->stream_pending;
    impl_->stream_pending.clear();
  }
  return response;
}

std::optional<std::string> HttpClient::next_event() {
  auto& parser = *impl_->stream_parser;
  std::string& pending = impl_->stream_pending;
  for (;;) {
    const size_t boundary = pending.find("\n\n");
    if (boundary != std::string::npos) {
      const std::string block = pending.substr(0, boundary);
      pending.erase(0, boundary + 2);
      std::vector<std::string> data = parse_sse_events(block);
      if (!data.empty()) return data.front();
      continue;
    }
    if (parser.is_done()) return std::nullopt;
    char chunk[4096];
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    beast::error_code error;
    bhttp::read_some(*impl_->socket, impl_->buffer, parser, error);
    if (error == bhttp::error::need_buffer) error = {};
    if (error) throw std::runtime_error("http client: reading the stream failed: " + error.message());
    pending.append(chunk, sizeof chunk - parser.get().body().size);
  }
}

void HttpClient::send_raw(const std::string& bytes) {
  impl_->ensure_connected();
  net::write(*impl_->socket, net::buffer(bytes));
}

HttpResponse HttpClient::raw(const std::string& bytes) {
  send_raw(bytes);
  return impl_->read_response();
}

void HttpClient::close() {
  if (impl_->socket && impl_->socket->is_open()) {
    beast::error_code ignored;
    impl_->socket->shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket->close(ignored);
  }
}

bool HttpClient::server_closed() const { return impl_->closed_by_server; }

}  // namespace citadel::test
