// The connection coroutine and the tracker of open connections.
#include "host/http/http_session.h"

#include "host/http/api_error.h"
#include "host/http/exchange.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <optional>

namespace citadel::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr uint32_t kHeaderLimitBytes = 64 * 1024;

// The error to answer a request that could not be read, if any answer is due.
std::optional<ApiError> read_error_reply(const beast::error_code& error, uint64_t body_limit) {
  if (error == bhttp::error::body_limit) return body_too_large(body_limit);
  if (error == bhttp::error::header_limit)
    return ApiError(431, "invalid_request_error", "Request header fields are too large", {},
                    "header_too_large");
  if (error.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
      error != bhttp::error::end_of_stream && error != bhttp::error::partial_message)
    return bad_request("Malformed HTTP request: " + error.message(), {}, "bad_http");
  return std::nullopt;  // closed, reset or timed out: nobody to answer
}

// Writes an error for a request whose header may be incomplete, then the
// connection closes.
net::awaitable<void> reply_and_close(ServerContext& server, beast::tcp_stream& stream,
                                     HttpRequest& header, const ApiError& error,
                                     const std::string& route) {
  if (header.version() == 0) header.version(11);
  Exchange exchange(server, stream, header);
  exchange.close_after_response();
  co_await exchange.respond_error(error);
  server.count_response(route, error.status(), 0.0);
}

net::awaitable<void> dispatch(ServerContext& server, Exchange& exchange, const std::string& route) {
  std::optional<ApiError> failure;
  try {
    const RouteMatch match =
        server.routes.find(exchange.request().method(), exchange.request().target());
    co_await (*match.handler)(exchange);
    if (!exchange.responded() && !exchange.client_gone())
      failure = internal_error("The endpoint produced no response", "no_response");
  } catch (const ApiError& error) {
    failure = error;
  } catch (const std::exception& error) {
    spdlog::error("http: {} {}: {}", std::string(exchange.request().method_string()), route,
                  error.what());
    failure = internal_error(error.what(), "internal_error");
  }
  if (failure) co_await exchange.respond_error(*failure);
}

}  // namespace

net::awaitable<void> run_session(ServerContext& server, SessionTracker& tracker,
                                 std::shared_ptr<SessionState> session) {
  const uint64_t tracker_id = tracker.add(session);
  beast::tcp_stream& stream = session->stream;
  const auto timeout = std::chrono::seconds(server.settings.idle_timeout_s);
  beast::flat_buffer buffer;
  for (;;) {
    if (server.stopping.load()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimitBytes);
    parser.body_limit(server.settings.max_body_bytes);
    session->idle = true;
    stream.expires_after(timeout);
    auto [header_error, header_bytes] =
        co_await bhttp::async_read_header(stream, buffer, parser, net::as_tuple(net::use_awaitable));
    (void)header_bytes;
    session->idle = false;
    if (header_error) {
      if (auto reply = read_error_reply(header_error, server.settings.max_body_bytes))
        co_await reply_and_close(server, stream, parser.get(), *reply, "unmatched");
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    const std::string route = server.routes.route_label(parser.get().target());
    if (parser.content_length() && *parser.content_length() > server.settings.max_body_bytes) {
      co_await reply_and_close(server, stream, parser.get(),
                               body_too_large(server.settings.max_body_bytes), route);
      break;
    }
    if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [error, bytes] = co_await net::async_write(stream, net::buffer(kContinue),
                                                      net::as_tuple(net::use_awaitable));
      (void)bytes;
      if (error) break;
    }
    if (!parser.is_done()) {
      stream.expires_after(timeout);
      auto [body_error, body_bytes] =
          co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
      (void)body_bytes;
      if (body_error) {
        if (auto reply = read_error_reply(body_error, server.settings.max_body_bytes))
          co_await reply_and_close(server, stream, parser.get(), *reply, route);
        break;
      }
    }
    stream.expires_never();
    HttpRequest request = parser.release();
    Exchange exchange(server, stream, request);
    co_await dispatch(server, exchange, route);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // 499 (as nginx logs it): the client left before a response was written.
    server.count_response(route, exchange.responded() ? exchange.status() : 499, seconds);
    if (!exchange.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
  tracker.remove(tracker_id);
}

uint64_t SessionTracker::add(const std::shared_ptr<SessionState>& session) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_id_++;
  sessions_[id] = session;
  return id;
}

void SessionTracker::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
  if (sessions_.empty()) empty_.notify_all();
}

void SessionTracker::close_idle() { close_each(true); }
void SessionTracker::close_all() { close_each(false); }

void SessionTracker::close_each(bool idle_only) {
  std::lock_guard lock(mutex_);
  for (const auto& [id, weak] : sessions_) {
    std::shared_ptr<SessionState> session = weak.lock();
    if (!session) continue;
    net::post(session->stream.get_executor(), [session, idle_only]() {
      if (idle_only && !session->idle) return;
      beast::error_code ignored;
      session->stream.socket().cancel(ignored);
      session->stream.socket().close(ignored);
    });
  }
}

bool SessionTracker::wait_until_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return empty_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

}  // namespace citadel::http
