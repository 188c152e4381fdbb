// HttpServer: acceptor, io threads, graceful stop.
#include "host/http/http_server.h"

#include "host/http/api_error.h"
#include "host/http/endpoints.h"
#include "host/http/http_session.h"
#include "host/http/server_context.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace citadel::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

constexpr int kIoThreads = 2;
constexpr uint32_t kMaxRefusing = 256;
constexpr auto kRefusalLinger = std::chrono::seconds(2);

void log_session_exception(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& exception) {
    spdlog::error("http: connection ended by an exception: {}", exception.what());
  }
}

// Raises the soft limit of open files towards the hard limit so that
// http.max_connections connections (plus the host's own files) fit; warns
// when even the hard limit is too low.
void raise_open_file_limit(uint32_t max_connections) {
  constexpr rlim_t kOwnFiles = 256;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + kOwnFiles;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < wanted)
    spdlog::warn("http: the open-file limit ({}) is below http.max_connections + {}; raise "
                 "LimitNOFILE (ulimit -n) or lower http.max_connections",
                 static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(kOwnFiles));
}

}  // namespace

ListenAddress parse_listen_address(const std::string& listen) {
  ListenAddress address;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw std::runtime_error("http.listen: '" + listen + "' is not host:port");
  address.host = listen.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']')
    address.host = address.host.substr(1, address.host.size() - 2);
  if (address.host.empty()) address.host = "0.0.0.0";
  const std::string port_text = listen.substr(colon + 1);
  size_t used = 0;
  unsigned long port = 0;
  try {
    port = std::stoul(port_text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != port_text.size() || port > 65535)
    throw std::runtime_error("http.listen: '" + port_text + "' is not a port number");
  address.port = static_cast<uint16_t>(port);
  return address;
}

struct HttpServer::Impl {
  Impl(const config::HttpSettings& settings, sched::RequestRouter& router, metrics::Registry& metrics)
      : context(settings, router, metrics) {
    register_endpoints(context.routes);
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [error, socket] = co_await acceptor->async_accept(net::make_strand(io),
                                                             net::as_tuple(net::use_awaitable));
      if (error) {
        if (error == net::error::operation_aborted || !acceptor->is_open()) co_return;
        spdlog::warn("http: accept failed: {}", error.message());
        // Out of file descriptors (or similar): give the open connections
        // a moment to finish instead of spinning on accept.
        net::steady_timer pause(io, std::chrono::milliseconds(100));
        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
        continue;
      }
      socket.set_option(tcp::no_delay(true));
      if (context.open_connections.load() >= context.settings.max_connections) {
        refuse_connection(std::move(socket));
        continue;
      }
      context.open_connections.fetch_add(1);
      context.publish_open_connections();
      auto session = std::make_shared<SessionState>(std::move(socket));
      net::any_io_executor executor = session->stream.get_executor();
      net::co_spawn(executor, run_session(context, tracker, std::move(session)),
                    log_session_exception);
    }
  }

  // Over http.max_connections: answer 503 (Retry-After: 1, Connection:
  // close) without reading the request, then close. At most kMaxRefusing
  // such answers are in flight; beyond that the connection closes at once.
  void refuse_connection(tcp::socket socket) {
    context.count_refused_connection();
    if (refusing.load() >= kMaxRefusing) {
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    refusing.fetch_add(1);
    net::any_io_executor executor = socket.get_executor();
    net::co_spawn(executor, write_refusal(std::move(socket)), [this](std::exception_ptr error) {
      refusing.fetch_sub(1);
      log_session_exception(error);
    });
  }

  net::awaitable<void> write_refusal(tcp::socket socket) {
    static const std::string body =
        ApiError(503, "service_unavailable_error",
                 "The server has too many open connections (http.max_connections); retry shortly",
                 {}, "too_many_connections")
            .error_body();
    static const std::string response =
        "HTTP/1.1 503 Service Unavailable\r\nServer: citadel/" CITADEL_VERSION
        "\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(kRefusalLinger);
    auto [error, bytes] = co_await net::async_write(stream, net::buffer(response),
                                                    net::as_tuple(net::use_awaitable));
    (void)bytes;
    boost::system::error_code ignored;
    if (!error) {
      // Lingering close: read (and drop) what the client sends until it
      // closes or the linger time ends, so that the 503 is not lost to a
      // reset caused by unread request bytes.
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      char sink[1024];
      for (;;) {
        auto [read_error, read] = co_await stream.async_read_some(
            net::buffer(sink), net::as_tuple(net::use_awaitable));
        (void)read;
        if (read_error) break;
      }
    }
    stream.socket().close(ignored);
  }

  ServerContext context;
  net::io_context io{kIoThreads};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  SessionTracker tracker;
  std::atomic<uint32_t> refusing{0};  // 503 answers in flight
  std::vector<std::thread> threads;
  std::mutex lifecycle_mutex;
  // Read by port() from any thread (admin commands, POST /benchmark): atomic.
  std::atomic<uint16_t> bound_port{0};
  bool running = false;
  bool stopped = false;
  std::chrono::milliseconds drain_timeout{60000};
};

HttpServer::HttpServer(const config::HttpSettings& settings, sched::RequestRouter& router,
                       metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(settings, router, metrics)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->running || impl_->stopped) return;
  const std::string& listen = impl_->context.settings.listen;
  if (listen.empty()) {
    spdlog::info("http: disabled (http.listen is empty)");
    return;
  }
  const ListenAddress address = parse_listen_address(listen);
  raise_open_file_limit(impl_->context.settings.max_connections);
  boost::system::error_code error;
  const net::ip::address ip = net::ip::make_address(address.host, error);
  if (error)
    throw std::runtime_error("http.listen: '" + address.host + "' is not an IP address");
  const tcp::endpoint endpoint(ip, address.port);
  tcp::acceptor& acceptor = impl_->acceptor.emplace(impl_->io);
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(net::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
  if (error) {
    impl_->acceptor.reset();
    throw std::runtime_error("http.listen: cannot listen on " + listen + ": " + error.message());
  }
  impl_->bound_port = acceptor.local_endpoint().port();
  impl_->context.port = impl_->bound_port;
  impl_->context.started_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  impl_->work.emplace(impl_->io.get_executor());
  net::co_spawn(impl_->io, impl_->accept_loop(), log_session_exception);
  for (int index = 0; index < kIoThreads; ++index)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  impl_->running = true;
  spdlog::info("http: listening on {}:{}", address.host, impl_->bound_port.load());
}

void HttpServer::stop() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->running) return;
  impl_->context.stopping.store(true);
  net::post(impl_->io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor->close(ignored);
  });
  impl_->tracker.close_idle();
  if (!impl_->tracker.wait_until_empty(impl_->drain_timeout)) {
    spdlog::warn("http: connections still busy after {} ms; closing them",
                 impl_->drain_timeout.count());
    impl_->tracker.close_all();
    impl_->tracker.wait_until_empty(std::chrono::milliseconds(5000));
  }
  impl_->context.gate->close();
  impl_->work.reset();
  impl_->io.stop();
  for (std::thread& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  impl_->running = false;
  spdlog::info("http: stopped");
}

void HttpServer::stop_accepting() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->stopped || !impl_->running || impl_->context.stopping.exchange(true)) return;
  net::post(impl_->io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor->close(ignored);
  });
  impl_->tracker.close_idle();
}

uint16_t HttpServer::port() const { return impl_->bound_port.load(); }

bool HttpServer::running() const { return impl_->running; }

void HttpServer::update_api_keys(const config::ApiKeySettings& keys) {
  impl_->context.keys.update(keys);
}

void HttpServer::set_drain_timeout(std::chrono::milliseconds timeout) {
  impl_->drain_timeout = timeout;
}

void HttpServer::set_video_jobs(std::shared_ptr<jobs::VideoJobManager> jobs) {
  impl_->context.video_jobs = std::move(jobs);
}

}  // namespace citadel::http
