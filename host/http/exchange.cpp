// Exchange: responses, SSE streams and the client watch of one request.
#include "host/http/exchange.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace citadel::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

struct Exchange::ClientWatch {
  bool active = true;
  bool gone = false;
  std::function<void()> on_gone;
};

namespace {

void mark_gone(const std::shared_ptr<Exchange::ClientWatch>& watch) {
  if (watch->gone) return;
  watch->gone = true;
  if (watch->on_gone) watch->on_gone();
}

// Waits until the socket is readable; then a peek tells EOF/reset (the
// client left) from bytes of a pipelined request (the client is still there).
void arm_client_watch(tcp::socket& socket, std::shared_ptr<Exchange::ClientWatch> watch) {
  socket.async_wait(tcp::socket::wait_read, [&socket, watch](const beast::error_code& error) {
    if (!watch->active) return;
    if (error) {
      if (error != net::error::operation_aborted) mark_gone(watch);
      return;
    }
    char byte = 0;
    const ssize_t received =
        ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (received > 0) return;  // a pipelined request: still connected
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      arm_client_watch(socket, watch);
      return;
    }
    mark_gone(watch);  // 0: orderly close; < 0: reset
  });
}

}  // namespace

Exchange::Exchange(ServerContext& server, beast::tcp_stream& stream, const HttpRequest& request)
    : server_(server), stream_(stream), request_(request) {}

Exchange::~Exchange() {
  if (watch_ && watch_->active) {
    watch_->active = false;
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
}

net::any_io_executor Exchange::executor() { return stream_.get_executor(); }

net::awaitable<void> Exchange::respond(unsigned status, const std::string& content_type,
                                       std::string body, const HeaderList& headers) {
  if (responded()) co_return;
  status_ = status;
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status),
                                               request_.version()};
  response.set(bhttp::field::server, "citadel/" CITADEL_VERSION);
  response.set(bhttp::field::content_type, content_type);
  for (const auto& [name, value] : headers) response.set(name, value);
  response.keep_alive(keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  stream_.expires_after(std::chrono::seconds(server_.settings.idle_timeout_s));
  auto [error, bytes] =
      co_await bhttp::async_write(stream_, response, net::as_tuple(net::use_awaitable));
  (void)bytes;
  if (error) write_failed_ = true;
}

net::awaitable<void> Exchange::respond_json(unsigned status, const boost::json::value& body,
                                            const HeaderList& headers) {
  co_await respond(status, "application/json", boost::json::serialize(body), headers);
}

net::awaitable<void> Exchange::respond_error(const ApiError& error) {
  co_await respond(error.status(), "application/json", error.error_body(), error.headers());
}

net::awaitable<SseWriter*> Exchange::open_stream() {
  if (responded()) co_return nullptr;
  status_ = 200;
  stream_writer_ = std::make_unique<SseWriter>(
      stream_, request_.version(), request_.keep_alive() && !server_.stopping.load(),
      std::chrono::seconds(server_.settings.idle_timeout_s));
  const bool opened = co_await stream_writer_->open();
  if (!opened) {
    write_failed_ = true;
    co_return nullptr;
  }
  co_return stream_writer_.get();
}

void Exchange::watch_client(std::function<void()> on_gone) {
  if (watch_) return;
  watch_ = std::make_shared<ClientWatch>();
  watch_->on_gone = std::move(on_gone);
  arm_client_watch(stream_.socket(), watch_);
}

void Exchange::authorize_model(const std::string& model) {
  if (caller_ == nullptr || caller_->may_use(model)) return;
  server_.keys.count_refusal("model_not_allowed");
  throw model_not_allowed(model);
}

bool Exchange::client_gone() const { return watch_ && watch_->gone; }

bool Exchange::keep_alive() const {
  if (!request_.keep_alive() || close_after_response_ || write_failed_ || client_gone() || server_.stopping.load())
    return false;
  if (stream_writer_ && (stream_writer_->failed() || !stream_writer_->finished())) return false;
  return true;
}

}  // namespace citadel::http
