// One HTTP connection: a coroutine that reads requests under the limits of
// http: (idle, header and body timeouts; header and body sizes; requests per
// connection; Expect: 100-continue), checks each request's API key, dispatches
// it through the RouteTable and writes the responses; and the SessionTracker
// that lets HttpServer close idle connections and wait for busy ones when it
// stops. See docs/operations.md "HTTP limits".
//
// Called by: http_server.cpp (accept loop and stop()).
#pragma once

#include "host/http/server_context.h"

#include "host/http/awaitable.h"
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace citadel::http {

// A connection as the tracker sees it. Fields are touched on the
// connection's strand only.
struct SessionState {
  explicit SessionState(boost::asio::ip::tcp::socket socket) : stream(std::move(socket)) {}
  boost::beast::tcp_stream stream;
  bool idle = true;  // waiting for the next request
};

class SessionTracker {
 public:
  uint64_t add(const std::shared_ptr<SessionState>& session);
  void remove(uint64_t id);
  // Closes every connection that waits for a request (busy ones close
  // themselves after their response because ServerContext::stopping is set).
  void close_idle();
  // Closes every connection, busy or not.
  void close_all();
  // Waits until no connection is left or `timeout` passed; true if none left.
  bool wait_until_empty(std::chrono::milliseconds timeout);

 private:
  void close_each(bool idle_only);
  std::mutex mutex_;
  std::condition_variable empty_;
  std::map<uint64_t, std::weak_ptr<SessionState>> sessions_;
  uint64_t next_id_ = 1;
};

// Serves one connection until it closes; decrements
// server.open_connections (which the accept loop incremented) at the end.
boost::asio::awaitable<void> run_session(ServerContext& server, SessionTracker& tracker,
                                         std::shared_ptr<SessionState> session);

}  // namespace citadel::http
