// PostGate: lets scheduler threads post work to the HTTP server's io threads
// only while the server's io_context is alive. Event sinks outlive the
// exchanges that created them (the scheduler may deliver a final event after
// the client left or the server stopped), so every post goes through here and
// HttpServer::stop() closes the gate before the io_context is destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <mutex>
#include <utility>

namespace citadel::http {

class PostGate {
 public:
  // Posts `function` to `executor` unless the gate is closed; returns whether
  // it was posted.
  template <typename Function>
  bool post(const boost::asio::any_io_executor& executor, Function&& function) {
    std::lock_guard lock(mutex_);
    if (!open_) return false;
    boost::asio::post(executor, std::forward<Function>(function));
    return true;
  }

  // Runs `function` (under the gate's lock) unless the gate is closed;
  // returns whether it ran. For work that touches the server's executors,
  // which exist as long as the gate is open.
  template <typename Function>
  bool run_if_open(Function&& function) {
    std::lock_guard lock(mutex_);
    if (!open_) return false;
    std::forward<Function>(function)();
    return true;
  }

  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

 private:
  std::mutex mutex_;
  bool open_ = true;
};

}  // namespace citadel::http
