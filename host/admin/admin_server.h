// The admin socket server: a Unix stream socket speaking newline-delimited
// JSON (see admin_protocol.h), with named commands registered by the host.
//
// Created by main with config::AdminSettings; host-core registers its
// commands (status, models, reload, infer, ...) with add_command before or
// after start(). `help` is built in. Runs on its own io thread; handlers run
// on a small worker pool, one command at a time per connection.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "host/admin/admin_reply.h"
#include "host/config/model_config.h"

namespace citadel::admin {

// `request` is the whole request object (its "cmd" included). A handler must
// eventually call reply->finish() or reply->fail() (at once or from any
// thread); it may throw instead: AdminCommandError gives its code, any other
// exception the code "failed".
using CommandHandler =
    std::function<void(const boost::json::object& request, std::shared_ptr<AdminReply> reply)>;

// Thrown by handlers to fail with a specific code ("not_found", "bad_request", ...).
class AdminCommandError : public std::runtime_error {
 public:
  AdminCommandError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

class AdminServer {
 public:
  // `worker_threads`: how many commands (over all connections) run at once.
  explicit AdminServer(config::AdminSettings settings, unsigned worker_threads = 4);
  ~AdminServer();  // stop()s
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Registers (or replaces) a command. Thread-safe, also while running.
  void add_command(std::string name, std::string help, CommandHandler handler);

  // Prepares the socket file (creates its folder, removes a stale socket,
  // refuses a live one), binds, chmods to settings.mode, and starts serving.
  // Throws std::runtime_error naming the path when it cannot.
  void start();
  // Closes the listener and every connection (in-flight replies are
  // cancelled), waits for the threads, removes the socket file. Idempotent.
  void stop();

  const std::string& socket_path() const;
  bool running() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace citadel::admin
