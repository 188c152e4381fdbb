// A plain blocking HTTP/1.1 client (Boost.Beast) for the tests: one keep-alive
// connection, whole responses or a server-sent event stream read event by
// event, raw bytes for malformed requests, and an abrupt close to play a
// client that disconnects mid-stream. Reads time out after 30 s so a test
// fails instead of hanging.
//
// Used by tests/http/*_test.cpp.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::test {

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& name) const;  // "" when absent
  boost::json::value json() const;                    // throws on invalid JSON
};

// The data payloads of the `data: ...` events of an SSE body.
std::vector<std::string> parse_sse_events(const std::string& body);

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse get(const std::string& target);
  HttpResponse post_json(const std::string& target, const std::string& body);
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

  // Sends a POST and reads the response header; then next_event() returns
  // each event's data until the stream ends (std::nullopt).
  HttpResponse start_stream(const std::string& target, const std::string& body);
  std::optional<std::string> next_event();

  // Writes raw bytes and reads one response (for malformed requests).
  HttpResponse raw(const std::string& bytes);
  // Writes raw bytes only (a request whose answer the test never reads).
  void send_raw(const std::string& bytes);

  // Closes the connection at once (RST-free close of the socket).
  void close();
  // Whether the server closed the connection after the last response.
  bool server_closed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citadel::test
