// A real AdminServer on a socket in a temporary folder, for the admin tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "host/admin/admin_client.h"
#include "host/admin/admin_server.h"
#include "support/test_support.hpp"

namespace citadel::test {

class AdminTestServer {
 public:
  explicit AdminTestServer(uint32_t max_line_bytes = 1 << 20) {
    config::AdminSettings settings;
    settings.socket = (dir.path() / "run" / "admin.sock").string();
    settings.max_line_bytes = max_line_bytes;
    server = std::make_unique<admin::AdminServer>(settings);
    // echo: replies with the request's fields under "echo".
    server->add_command("echo", "reply with the request", [](const boost::json::object& request, auto reply) {
      boost::json::object last;
      last["echo"] = request;
      reply->finish(std::move(last));
    });
  }
  std::string socket() const { return server->socket_path(); }
  std::unique_ptr<admin::AdminClient> client() const {
    auto client = std::make_unique<admin::AdminClient>(socket(), std::chrono::seconds(10));
    client->connect();
    return client;
  }

  TempDir dir;
  std::unique_ptr<admin::AdminServer> server;
};

}  // namespace citadel::test
