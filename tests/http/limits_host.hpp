// LimitsHost: the real citadel binary on a throw-away tree (HostTree) with
// an echo model "alpha" and the `http:` block a test gives, for the HTTP
// limit and API key tests. Header-only.
//
// Used by tests/http/http_limits_test.cpp, http_api_keys_test.cpp and
// http_binary_test.cpp (wait_for_http_port).
#pragma once

#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace citadel::test {

// The HTTP port from the admin `status`. The admin socket opens before the
// HTTP listener, so `status` may answer before the port is known: wait for it.
inline uint16_t wait_for_http_port(CitadelProcess& process,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const boost::json::object status = process.request({{"cmd", "status"}}).at("status").as_object();
    if (const boost::json::value* port = status.if_contains("http_port"))
      return port->to_number<uint16_t>();
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("citadel reported no http_port in time:\n" + process.log());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct LimitsHost {
  // `http_block` is the indented body of `http:` ("  max_connections: 8\n").
  explicit LimitsHost(const std::string& http_block) { write_config(http_block); }

  void write_config(const std::string& http_block) {
    tree.write_raw("citadel.yaml",
                   "admin:\n"
                   "  socket: run/admin.sock\n"
                   "plugins_dir: plugins\n"
                   "models_dir: models.d\n"
                   "runtime_dir: run/runtime\n"
                   "http:\n"
                   "  listen: 127.0.0.1:0\n" +
                       http_block +
                       "devices: [cpu]\n"
                       "cpu_cache_mb: 64\n"
                       "log_level: info\n");
  }

  void start() {
    process = tree.start();
    port = wait_for_http_port(*process);
  }

  HttpClient client() const { return HttpClient("127.0.0.1", port); }

  HostTree tree;
  std::unique_ptr<CitadelProcess> process;
  uint16_t port = 0;
};

inline std::string completion_request(const std::string& model, const std::string& prompt,
                                      int max_tokens) {
  return boost::json::serialize(
      boost::json::object{{"model", model}, {"prompt", prompt}, {"max_tokens", max_tokens}});
}

}  // namespace citadel::test
