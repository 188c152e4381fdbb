// ServingTree: a HostTree whose citadel.yaml enables HTTP on a free port,
// with the echo and faulty test plugins installed, plus the helpers the
// fault, out-of-memory and shutdown tests share (OpenAI error checks,
// /metrics lookups).
//
// Used by tests/integration/host_faults_test.cpp, host_shutdown_test.cpp,
// host_memory_test.cpp, and (with install_built_plugin) vista_serving_test.cpp
// and tensor_parallel_serving_test.cpp (header-only).
#pragma once

#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <string>

namespace citadel::test {

struct ServingTree {
  // `extra_yaml` is appended to citadel.yaml (e.g. "shutdown_grace_s: 1\n").
  explicit ServingTree(const std::string& extra_yaml = "", uint64_t cpu_cache_mb = 64) {
    tree.write_raw("citadel.yaml",
                   "admin:\n"
                   "  socket: run/admin.sock\n"
                   "plugins_dir: plugins\n"
                   "models_dir: models.d\n"
                   "runtime_dir: run/runtime\n"
                   "http:\n"
                   "  listen: 127.0.0.1:0\n"
                   "devices: [cpu]\n"
                   "cpu_cache_mb: " + std::to_string(cpu_cache_mb) + "\n"
                   "log_level: info\n" + extra_yaml);
    tree.install_plugin("faulty", "faulty");
  }

  // models.d/<name>.yaml with plugin options and scheduler settings (YAML
  // flow-mapping bodies, e.g. "fault: throw" and "max_step_failures: 2").
  void write_model(const std::string& name, const std::string& plugin, const std::string& options,
                   const std::string& scheduler = "") {
    std::string text = "name: " + name + "\nplugin: " + plugin + "\ndevice: cpu\n";
    if (!options.empty()) text += "options: {" + options + "}\n";
    if (!scheduler.empty()) text += "scheduler: {" + scheduler + "}\n";
    tree.write_raw("models.d/" + name + ".yaml", text);
  }

  // plugins/<name>/ with the real plugin this build made (<name>.so and its
  // plugin.yaml), as an operator installs it.
  void install_built_plugin(const std::string& name) {
    const std::filesystem::path target = tree.root() / "plugins" / name;
    std::filesystem::create_directories(target);
    for (const std::string& file : {name + ".so", std::string("plugin.yaml")})
      std::filesystem::copy_file(binary_dir() / "plugins" / name / file, target / file);
  }

  void start() {
    process = tree.start();
    port = process->request({{"cmd", "status"}}).at("status").at("http_port").to_number<uint16_t>();
    REQUIRE(port != 0);
  }

  HttpClient client() const { return HttpClient("127.0.0.1", port); }

  HttpResponse complete(const std::string& model, const std::string& prompt, int max_tokens = 4) const {
    HttpClient http = client();
    return http.post_json("/v1/completions",
                          boost::json::serialize(boost::json::object{
                              {"model", model}, {"prompt", prompt}, {"max_tokens", max_tokens}}));
  }

  // The value of one exact series line of /metrics ("name{labels}"), or -1.
  double metric(const std::string& series) const {
    const std::string body = client().get("/metrics").body;
    const size_t at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
  }

  // The admin `models` row of `name` (state, failure, ...).
  boost::json::object model_row(const std::string& name) const {
    const boost::json::object reply = process->request({{"cmd", "models"}});
    for (const boost::json::value& row : reply.at("models").as_array()) {
      if (row.at("name").as_string() == name) return row.as_object();
    }
    FAIL("no model " << name << " in " << boost::json::serialize(reply));
    return {};
  }

  HostTree tree;
  std::unique_ptr<CitadelProcess> process;
  uint16_t port = 0;
};

// The reply is an OpenAI error with this status and code; returns its message.
inline std::string openai_error(const HttpResponse& response, unsigned status, const std::string& code) {
  INFO(response.body);
  CHECK(response.status == status);
  const boost::json::value body = response.json();
  const boost::json::object& error = body.at("error").as_object();
  CHECK(error.at("type").is_string());
  CHECK(error.contains("param"));
  CHECK(error.at("code").as_string() == code);
  return std::string(error.at("message").as_string());
}

}  // namespace citadel::test
