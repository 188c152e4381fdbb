#include "host/admin/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/admin/admin_protocol.h"

namespace citadel::admin {

AdminClient::AdminClient(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}

AdminClient::~AdminClient() { close(); }

void AdminClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

int AdminClient::remaining_ms() const {
  if (timeout_.count() == 0) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    throw std::runtime_error("admin socket " + socket_path_ + ": no reply within " +
                             std::to_string(timeout_.count() / 1000.0).substr(0, 5) + " s");
  }
  return static_cast<int>(left.count());
}

void AdminClient::connect() {
  close();
  deadline_ = std::chrono::steady_clock::now() + timeout_;
  sockaddr_un address{};
  if (socket_path_.size() >= sizeof(address.sun_path)) {
    throw AdminConnectError("cannot connect to " + socket_path_ + ": path too long for a Unix socket");
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw AdminConnectError(std::string("cannot create a socket: ") + std::strerror(errno));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw AdminConnectError("cannot connect to " + socket_path_ + ": " + reason);
  }
  fd_ = fd;
}

void AdminClient::send_line(const std::string& text) {
  if (fd_ < 0) throw std::runtime_error("admin client: not connected");
  const std::string line = text + '\n';
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::runtime_error("admin socket " + socket_path_ + ": send failed: " + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
}

std::string AdminClient::read_line() {
  if (fd_ < 0) throw std::runtime_error("admin client: not connected");
  for (;;) {
    const std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    pollfd descriptor{fd_, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, remaining_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) remaining_ms();  // throws: timed out
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::runtime_error("admin socket " + socket_path_ + ": receive failed: " + std::strerror(errno));
    }
    if (n == 0) throw std::runtime_error("admin socket " + socket_path_ + ": the host closed the connection");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

boost::json::object AdminClient::call(const boost::json::object& request, const LineCallback& on_line) {
  deadline_ = std::chrono::steady_clock::now() + timeout_;
  send_line(boost::json::serialize(request));
  for (;;) {
    const std::string raw = read_line();
    boost::system::error_code error;
    boost::json::value value = boost::json::parse(raw, error);
    if (error || !value.is_object()) {
      throw std::runtime_error("admin socket " + socket_path_ + ": reply is not a JSON object: " + raw);
    }
    boost::json::object& line = value.as_object();
    if (on_line) on_line(raw, line);
    if (!is_intermediate_line(line)) return std::move(line);
  }
}

}  // namespace citadel::admin
