// RawConnection: a plain blocking TCP connection to 127.0.0.1 for the HTTP
// limit tests, where the test must control every byte and its timing (idle
// connections, a header trickled byte by byte, a body that stops) and see
// how and when the server answers or closes. Header-only (see
// tests/CMakeLists.txt: only *_test.cpp and support/*.cpp are compiled).
//
// Used by tests/http/http_limits_test.cpp and http_api_keys_test.cpp.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace citadel::test {

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " + why);
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False when the server has closed (or reset) the connection.
  bool send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the server closes or `timeout` passes; returns what came.
  // closed() then says which of the two happened.
  std::string read_until_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string received;
    while (!closed_ && receive(received, deadline)) {
    }
    return received;
  }

  // Reads one whole response whose body has a Content-Length (or until the
  // server closes); throws when none arrives within `timeout`.
  std::string read_response(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const size_t field = lower(buffer_.substr(0, end)).find("content-length:");
        if (field != std::string::npos) length = std::stoul(buffer_.substr(field + 15));
        if (buffer_.size() >= end + 4 + length) {
          std::string response = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (closed_) {
        if (buffer_.empty()) throw std::runtime_error("closed without a response");
        std::string response = std::move(buffer_);
        buffer_.clear();
        return response;
      }
      if (!receive(buffer_, deadline)) throw std::runtime_error("no whole response in time: " + buffer_);
    }
  }

  bool closed() const { return closed_; }

  // The status code of a raw response ("HTTP/1.1 503 ...": 503), 0 if none.
  static unsigned status_of(const std::string& response) {
    if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
    return static_cast<unsigned>(std::stoul(response.substr(9, 3)));
  }
  static std::string body_of(const std::string& response) {
    const size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : response.substr(end + 4);
  }
  static bool has_header(const std::string& response, const std::string& line) {
    const size_t end = response.find("\r\n\r\n");
    return lower(response.substr(0, end)).find("\r\n" + lower(line) + "\r\n") != std::string::npos;
  }

 private:
  // Appends what arrives before `deadline` (or sets closed_); false when the
  // deadline passed with nothing.
  bool receive(std::string& into, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[8192];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        closed_ = true;
        return true;
      }
      into.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
};

}  // namespace citadel::test
