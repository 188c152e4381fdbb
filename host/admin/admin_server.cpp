#include "host/admin/admin_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <future>
#include <list>
#include <thread>

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include "host/admin/admin_command_table.h"
#include "host/admin/admin_connection.h"
#include "host/admin/admin_socket_file.h"

namespace citadel::admin {

using StreamProtocol = boost::asio::local::stream_protocol;

class AdminServer::Impl {
 public:
  Impl(config::AdminSettings settings, unsigned worker_threads)
      : settings(std::move(settings)), workers(worker_threads == 0 ? 1 : worker_threads),
        commands(std::make_shared<AdminCommandTable>()), acceptor(io) {}

  void start();
  void stop();

  config::AdminSettings settings;
  boost::asio::io_context io;
  boost::asio::thread_pool workers;
  std::shared_ptr<AdminCommandTable> commands;
  StreamProtocol::acceptor acceptor;
  std::thread io_thread;
  std::list<std::weak_ptr<AdminConnection>> connections;  // io thread only
  bool running = false;
  bool stopped = false;
  ino_t socket_inode = 0;  // of the file we bound, so stop() removes only ours

 private:
  void accept_next();
};

void AdminServer::Impl::start() {
  if (running) return;
  if (stopped) throw std::runtime_error("admin socket " + settings.socket + ": server was stopped");
  const std::string& path = settings.socket;
  prepare_socket_path(path);
  boost::system::error_code error;
  acceptor.open(StreamProtocol(), error);
  if (!error) acceptor.bind(StreamProtocol::endpoint(path), error);
  if (error) {
    acceptor.close();
    throw std::runtime_error("admin socket " + path + ": cannot bind: " + error.message());
  }
  if (::chmod(path.c_str(), settings.mode) != 0) {
    const std::string reason = std::strerror(errno);
    acceptor.close();
    ::unlink(path.c_str());
    throw std::runtime_error("admin socket " + path + ": cannot chmod: " + reason);
  }
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) socket_inode = status.st_ino;
  acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    acceptor.close();
    ::unlink(path.c_str());
    throw std::runtime_error("admin socket " + path + ": cannot listen: " + error.message());
  }
  accept_next();
  running = true;
  io_thread = std::thread([this] { io.run(); });
  spdlog::info("admin: listening on {}", path);
}

void AdminServer::Impl::accept_next() {
  acceptor.async_accept([this](const boost::system::error_code& error, StreamProtocol::socket socket) {
    if (error == boost::asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!error) {
      auto connection = std::make_shared<AdminConnection>(std::move(socket), settings, commands, workers);
      connections.remove_if([](const std::weak_ptr<AdminConnection>& c) { return c.expired(); });
      connections.push_back(connection);
      connection->start();
    }
    accept_next();
  });
}

void AdminServer::Impl::stop() {
  if (!running) return;
  running = false;
  stopped = true;
  // Stop accepting; let every connection send the lines already queued (the
  // last reply of a request that finished while the host drained) for up to
  // kFlushTimeout, then close what is left.
  constexpr auto kFlushTimeout = std::chrono::seconds(2);
  // Keeps io.run() going once the acceptor is closed and connections wind down.
  auto keep_running = boost::asio::make_work_guard(io);
  auto run_on_io = [this](auto&& body) {
    std::promise<bool> done;
    boost::asio::post(io, [&] { done.set_value(body()); });
    return done.get_future().get();
  };
  run_on_io([this] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (auto& weak : connections) {
      if (auto connection = weak.lock()) connection->close_after_pending_writes();
    }
    return true;
  });
  const auto deadline = std::chrono::steady_clock::now() + kFlushTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool all_closed = run_on_io([this] {
      for (auto& weak : connections) {
        if (auto connection = weak.lock(); connection && !connection->closed()) return false;
      }
      return true;
    });
    if (all_closed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run_on_io([this] {
    for (auto& weak : connections) {
      if (auto connection = weak.lock()) connection->close();
    }
    connections.clear();
    return true;
  });
  keep_running.reset();
  workers.join();  // running handlers return (their replies were cancelled)
  io.stop();
  if (io_thread.joinable()) io_thread.join();
  struct stat status {};
  if (::stat(settings.socket.c_str(), &status) == 0 && status.st_ino == socket_inode) {
    ::unlink(settings.socket.c_str());
  }
}

AdminServer::AdminServer(config::AdminSettings settings, unsigned worker_threads)
    : impl_(std::make_shared<Impl>(std::move(settings), worker_threads)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::add_command(std::string name, std::string help, CommandHandler handler) {
  impl_->commands->add(std::move(name), std::move(help), std::move(handler));
}

void AdminServer::start() { impl_->start(); }
void AdminServer::stop() { impl_->stop(); }
const std::string& AdminServer::socket_path() const { return impl_->settings.socket; }
bool AdminServer::running() const { return impl_->running; }

}  // namespace citadel::admin
