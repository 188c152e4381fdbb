// The connection coroutine and the tracker of open connections.
#include "host/http/http_session.h"

#include "host/http/api_error.h"
#include "host/http/exchange.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
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

constexpr size_t kFirstReadBytes = 4096;
// How long writing "100 Continue" may take.
constexpr auto kContinueWriteTimeout = std::chrono::seconds(5);

ApiError header_too_large(uint32_t limit_bytes) {
  return ApiError(431, "invalid_request_error",
                  "Request header fields are larger than the limit of " +
                      std::to_string(limit_bytes) + " bytes (http.max_header_bytes)",
                  {}, "header_too_large");
}

ApiError request_timeout(const std::string& what, uint32_t seconds, const std::string& setting) {
  return ApiError(408, "timeout_error",
                  "The " + what + " did not arrive within " + std::to_string(seconds) + " s (" +
                      setting + ")",
                  {}, "request_timeout");
}

// The error to answer a request that could not be read, if any answer is due.
std::optional<ApiError> read_error_reply(const beast::error_code& error,
                                         const config::HttpSettings& settings) {
  if (error == bhttp::error::body_limit) return body_too_large(settings.max_body_bytes);
  if (error == bhttp::error::header_limit) return header_too_large(settings.max_header_bytes);
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

// A deadline for one read that, unlike tcp_stream's own timeout (which
// closes the socket), only ends the reading, so that a 408 can still be
// written. Lives on the connection's strand. When it fires it cancels the
// socket's pending read and also shuts the socket's receiving side: a read
// that had just completed, its handler still queued on the strand, was not
// pending, and the composed header read would start its next read after
// the cancel and wait for the client again (a client trickling a byte a
// second then kept its connection past header_timeout_s; TSan run, CI stop
// 27). After the shutdown every later read ends at once.
class ReadDeadline {
 public:
  ReadDeadline(beast::tcp_stream& stream, std::chrono::seconds limit)
      : timer_(stream.get_executor()), state_(std::make_shared<State>()) {
    timer_.expires_after(limit);
    timer_.async_wait([&stream, state = state_](const beast::error_code& error) {
      // Cancelled, or fired after the read ended (the stream may be gone).
      if (error || !state->armed) return;
      state->expired = true;
      beast::error_code ignored;
      stream.socket().cancel(ignored);
      stream.socket().shutdown(net::ip::tcp::socket::shutdown_receive, ignored);
    });
  }
  ~ReadDeadline() {
    state_->armed = false;
    timer_.cancel();
  }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  struct State {
    bool armed = true;
    bool expired = false;
  };
  net::steady_timer timer_;
  std::shared_ptr<State> state_;
};

enum class ReadPhase { header, body };

// Answers a header or body read that failed: 408 when it timed out (the
// phase's timeout), 431 / 413 / 400 as read_error_reply says, nothing when
// the client is gone. The connection closes after the answer.
net::awaitable<void> answer_read_failure(ServerContext& server, beast::tcp_stream& stream,
                                         HttpRequest& header, beast::error_code error,
                                         bool timed_out, ReadPhase phase, std::string route) {
  const config::HttpSettings& settings = server.settings;
  std::optional<ApiError> reply;
  if (timed_out) {
    const bool in_header = phase == ReadPhase::header;
    server.count_timeout(in_header ? "header" : "body");
    reply = in_header ? request_timeout("request header", settings.header_timeout_s,
                                        "http.header_timeout_s")
                      : request_timeout("request body", settings.body_timeout_s,
                                        "http.body_timeout_s");
  } else {
    reply = read_error_reply(error, settings);
  }
  if (reply) co_await reply_and_close(server, stream, header, *reply, route);
}

// How reading the next request ended.
enum class ReadOutcome { request, closed, failed };

// Reads the next request's header: waits up to idle_timeout_s for its first
// byte (nothing answered when none comes), then gives the whole header
// header_timeout_s from that byte on (408 when it is late, 431 when it is
// larger than max_header_bytes). A client trickling bytes holds no thread
// and keeps its connection for header_timeout_s at most.
net::awaitable<ReadOutcome> read_header(ServerContext& server, SessionState& session,
                                        beast::flat_buffer& buffer,
                                        bhttp::request_parser<bhttp::string_body>& parser) {
  const config::HttpSettings& settings = server.settings;
  beast::tcp_stream& stream = session.stream;
  if (buffer.size() == 0) {
    stream.expires_after(std::chrono::seconds(settings.idle_timeout_s));
    auto [error, bytes] = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes),
                                                          net::as_tuple(net::use_awaitable));
    if (error) {
      if (error == beast::error::timeout) server.count_timeout("idle");
      co_return ReadOutcome::closed;
    }
    buffer.commit(bytes);
  }
  stream.expires_never();
  ReadDeadline deadline(stream, std::chrono::seconds(settings.header_timeout_s));
  auto [error, bytes] =
      co_await bhttp::async_read_header(stream, buffer, parser, net::as_tuple(net::use_awaitable));
  (void)bytes;
  session.idle = false;
  if (!error) co_return ReadOutcome::request;
  co_await answer_read_failure(server, stream, parser.get(), error, deadline.expired(),
                               ReadPhase::header, "unmatched");
  co_return ReadOutcome::failed;
}

// Reads the body within body_timeout_s (408 when late, 413 past
// max_body_bytes, counted while reading, chunked bodies included).
net::awaitable<bool> read_body(ServerContext& server, beast::tcp_stream& stream,
                               beast::flat_buffer& buffer,
                               bhttp::request_parser<bhttp::string_body>& parser,
                               const std::string& route) {
  const config::HttpSettings& settings = server.settings;
  if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream.expires_after(kContinueWriteTimeout);
    auto [error, bytes] = co_await net::async_write(stream, net::buffer(kContinue),
                                                    net::as_tuple(net::use_awaitable));
    (void)bytes;
    if (error) co_return false;
  }
  stream.expires_never();
  ReadDeadline deadline(stream, std::chrono::seconds(settings.body_timeout_s));
  auto [error, bytes] =
      co_await bhttp::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
  (void)bytes;
  if (!error) co_return true;
  co_await answer_read_failure(server, stream, parser.get(), error, deadline.expired(),
                               ReadPhase::body, route);
  co_return false;
}

// The API key check of a request whose header is read: the caller, or the
// refusal (401 / 429) already answered; `stop` says the connection ends.
struct Admission {
  std::shared_ptr<const ApiCaller> caller;
  bool refused = false;
  bool stop = false;
};

net::awaitable<Admission> admit(ServerContext& server, beast::tcp_stream& stream,
                                bhttp::request_parser<bhttp::string_body>& parser,
                                const std::string& route) {
  Admission admission;
  std::optional<ApiError> refusal;
  try {
    admission.caller = server.keys.authenticate(target_path(parser.get().target()),
                                                parser.get()[bhttp::field::authorization]);
  } catch (const ApiError& error) {
    refusal = error;
  }
  if (!refusal) co_return admission;
  admission.refused = true;
  // A body not read yet is not read at all: answer and close.
  admission.stop = !parser.is_done();
  if (admission.stop) {
    co_await reply_and_close(server, stream, parser.get(), *refusal, route);
    co_return admission;
  }
  Exchange exchange(server, stream, parser.get());
  co_await exchange.respond_error(*refusal);
  server.count_response(route, refusal->status(), 0.0);
  admission.stop = !exchange.keep_alive();
  co_return admission;
}

}  // namespace

net::awaitable<void> run_session(ServerContext& server, SessionTracker& tracker,
                                 std::shared_ptr<SessionState> session) {
  const uint64_t tracker_id = tracker.add(session);
  const config::HttpSettings& settings = server.settings;
  beast::tcp_stream& stream = session->stream;
  beast::flat_buffer buffer;
  uint64_t requests_read = 0;
  for (;;) {
    if (server.stopping.load()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(settings.max_header_bytes);
    parser.body_limit(settings.max_body_bytes);
    session->idle = true;
    if (co_await read_header(server, *session, buffer, parser) != ReadOutcome::request) break;
    ++requests_read;
    const auto started = std::chrono::steady_clock::now();
    const std::string route = server.routes.route_label(parser.get().target());
    if (parser.content_length() && *parser.content_length() > settings.max_body_bytes) {
      co_await reply_and_close(server, stream, parser.get(), body_too_large(settings.max_body_bytes),
                               route);
      break;
    }
    const Admission admission = co_await admit(server, stream, parser, route);
    if (admission.refused) {
      if (admission.stop) break;
      continue;
    }
    if (!parser.is_done() && !co_await read_body(server, stream, buffer, parser, route)) break;
    stream.expires_never();
    HttpRequest request = parser.release();
    Exchange exchange(server, stream, request);
    exchange.set_caller(admission.caller);
    if (settings.max_requests_per_connection != 0 &&
        requests_read >= settings.max_requests_per_connection)
      exchange.close_after_response();
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
  server.open_connections.fetch_sub(1);
  server.publish_open_connections();
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
