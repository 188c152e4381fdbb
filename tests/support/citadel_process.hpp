// CitadelProcess: runs the real `citadel` binary for integration tests and
// benchmarks — fork/exec with a config file, stderr to a log file, waits for
// the admin socket, talks newline-delimited JSON to it, sends signals, and
// kills the process on teardown. Header-only (tests/CMakeLists.txt compiles
// only *_test.cpp files besides test_support.cpp).
//
// Used by tests/integration/*_test.cpp and bench/reload.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace citadel::test {

// One connection to the admin socket.
class AdminConnection {
 public:
  explicit AdminConnection(const std::filesystem::path& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect " + socket_path.string() + ": " + why);
    }
  }
  ~AdminConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  void send_raw(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("admin socket: send failed");
      sent += static_cast<size_t>(n);
    }
  }
  // One reply line (without the newline); throws on timeout or EOF.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const size_t end = buffer_.find('\n'); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("admin socket: no reply line in time");
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) throw std::runtime_error("admin socket: connection closed");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  // Sends one request and returns every reply line up to the final one.
  std::vector<boost::json::object> request_lines(const boost::json::object& request,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    send_raw(boost::json::serialize(request) + "\n");
    std::vector<boost::json::object> lines;
    for (;;) {
      boost::json::object line = boost::json::parse(read_line(timeout)).as_object();
      const bool more = line.contains("more") && line.at("more").as_bool();
      lines.push_back(std::move(line));
      if (!more) return lines;
    }
  }
  boost::json::object request(const boost::json::object& request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return request_lines(request, timeout).back();
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

class CitadelProcess {
 public:
  // Starts `binary` --config `config` [extra...]; stdout and stderr go to `log`.
  CitadelProcess(const std::filesystem::path& binary, const std::filesystem::path& config,
                 std::filesystem::path socket, std::filesystem::path log,
                 std::vector<std::string> extra_arguments = {})
      : socket_(std::move(socket)), log_(std::move(log)) {
    std::vector<std::string> arguments{binary.string(), "--config", config.string()};
    arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::unsetenv("NOTIFY_SOCKET");
      std::vector<char*> argv;
      for (std::string& argument : arguments) argv.push_back(argument.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~CitadelProcess() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  CitadelProcess(const CitadelProcess&) = delete;
  CitadelProcess& operator=(const CitadelProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits until the admin socket answers `status`; throws with the log if the
  // process exits or the time runs out.
  void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto status = poll_exit()) {
        throw std::runtime_error("citadel exited with " + std::to_string(*status) + ":\n" + log());
      }
      try {
        AdminConnection connection(socket_);
        if (connection.request({{"cmd", "status"}}).at("ok").as_bool()) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("citadel did not become ready in time:\n" + log());
  }

  AdminConnection connect() const { return AdminConnection(socket_); }
  boost::json::object request(const boost::json::object& request) const {
    AdminConnection connection(socket_);
    return connection.request(request);
  }

  void signal(int signal_number) const { ::kill(pid_, signal_number); }

  // Exit status (or 128 + signal) once the process has ended, else nullopt.
  std::optional<int> poll_exit() {
    if (exit_status_) return exit_status_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return exit_status_;
  }
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!poll_exit() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_status_;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  void record(int status) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::filesystem::path socket_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace citadel::test
