// SseWriter: writes a server-sent event stream (text/event-stream) as an
// HTTP/1.1 chunked response: the header, one `data: <json>\n\n` event per
// chunk, then `data: [DONE]\n\n` and the last chunk, so the connection can be
// kept alive afterwards. Write failures (the client left) are reported as
// false, never thrown.
//
// Called by: the streaming endpoint handlers through Exchange::open_stream().
#pragma once

#include "host/http/awaitable.h"
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace citadel::http {

// One SSE event carrying `data` (which must not contain a newline).
std::string sse_event(std::string_view data);
inline constexpr std::string_view kSseDone = "[DONE]";

class SseWriter {
 public:
  SseWriter(boost::beast::tcp_stream& stream, unsigned http_version, bool keep_alive,
            std::chrono::seconds write_timeout);

  // Writes the response header (200, text/event-stream, chunked).
  boost::asio::awaitable<bool> open();
  // Writes one event.
  boost::asio::awaitable<bool> send(std::string_view data);
  // Writes `data: [DONE]` and ends the chunked body.
  boost::asio::awaitable<bool> finish();

  bool failed() const { return failed_; }
  bool finished() const { return finished_; }

 private:
  boost::asio::awaitable<bool> write_chunk(std::string chunk);

  boost::beast::tcp_stream& stream_;
  unsigned http_version_;
  bool keep_alive_;
  std::chrono::seconds write_timeout_;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace citadel::http
