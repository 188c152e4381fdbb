// A blocking client of the admin socket: connect, send one request, read its
// reply lines (intermediate ones through a callback) until the final one.
//
// Used by citadelctl (admin_cli.cpp), the admin tests and the integration
// tests that drive a running host.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

namespace citadel::admin {

// The socket cannot be reached (no such file, nobody listening, refused).
class AdminConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AdminClient {
 public:
  // `timeout` bounds connect() and each call() as a whole; zero: no limit.
  explicit AdminClient(std::string socket_path,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Throws AdminConnectError naming the path.
  void connect();
  bool connected() const { return fd_ >= 0; }
  void close();

  // Writes `text` followed by a newline (text must not contain one).
  void send_line(const std::string& text);
  // The next reply line without its newline. Throws std::runtime_error on
  // timeout or when the server closes the connection first.
  std::string read_line();

  using LineCallback = std::function<void(const std::string& raw, const boost::json::object& line)>;
  // Sends `request` and reads reply lines until one without "more": true,
  // calling `on_line` for every line (the final one included). Returns the
  // final line. Throws std::runtime_error on a line that is not a JSON object.
  boost::json::object call(const boost::json::object& request, const LineCallback& on_line = {});

  const std::string& socket_path() const { return socket_path_; }

 private:
  // Milliseconds left before the deadline (-1: none); throws when passed.
  int remaining_ms() const;

  std::string socket_path_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace citadel::admin
