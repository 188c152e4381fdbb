// Server-sent events over a chunked HTTP/1.1 response.
#include "host/http/sse_writer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

namespace citadel::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string sse_event(std::string_view data) {
  std::string event;
  event.reserve(data.size() + 8);
  event += "data: ";
  event += data;
  event += "\n\n";
  return event;
}

SseWriter::SseWriter(beast::tcp_stream& stream, unsigned http_version, bool keep_alive,
                     std::chrono::seconds write_timeout)
    : stream_(stream), http_version_(http_version), keep_alive_(keep_alive),
      write_timeout_(write_timeout) {}

net::awaitable<bool> SseWriter::open() {
  bhttp::response<bhttp::empty_body> response{bhttp::status::ok, http_version_};
  response.set(bhttp::field::server, "citadel/" CITADEL_VERSION);
  response.set(bhttp::field::content_type, "text/event-stream");
  response.set(bhttp::field::cache_control, "no-cache");
  response.keep_alive(keep_alive_);
  response.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{response};
  stream_.expires_after(write_timeout_);
  auto [error, bytes] =
      co_await bhttp::async_write_header(stream_, serializer, net::as_tuple(net::use_awaitable));
  (void)bytes;
  if (error) failed_ = true;
  co_return !failed_;
}

net::awaitable<bool> SseWriter::write_chunk(std::string chunk) {
  if (failed_) co_return false;
  stream_.expires_after(write_timeout_);
  auto [error, bytes] = co_await net::async_write(
      stream_, bhttp::make_chunk(net::buffer(chunk)), net::as_tuple(net::use_awaitable));
  (void)bytes;
  if (error) failed_ = true;
  co_return !failed_;
}

net::awaitable<bool> SseWriter::send(std::string_view data) {
  const bool sent = co_await write_chunk(sse_event(data));
  co_return sent;
}

net::awaitable<bool> SseWriter::finish() {
  if (finished_) co_return !failed_;
  finished_ = true;
  const bool sent = co_await write_chunk(sse_event(kSseDone));
  if (!sent) co_return false;
  stream_.expires_after(write_timeout_);
  auto [error, bytes] = co_await net::async_write(stream_, bhttp::make_chunk_last(),
                                                  net::as_tuple(net::use_awaitable));
  (void)bytes;
  if (error) failed_ = true;
  co_return !failed_;
}

}  // namespace citadel::http
