// HostTree: a throw-away citadel installation for integration tests — a
// citadel.yaml, a plugins folder filled from the echo test plugins, a
// models.d folder — and starting the real `citadel` binary on it.
//
// Used by tests/integration/*_test.cpp (header-only, see citadel_process.hpp).
#pragma once

#include "support/citadel_process.hpp"
#include "support/test_support.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace citadel::test {

class HostTree {
 public:
  // `listen`: the HTTP listener ("" none; "127.0.0.1:0" a free port, see
  // http_port()).
  explicit HostTree(const std::string& listen = "") {
    root_ = dir_.path();
    dir_.write("citadel.yaml",
               "admin:\n"
               "  socket: run/admin.sock\n"
               "  max_line_bytes: 65536\n"
               "plugins_dir: plugins\n"
               "models_dir: models.d\n"
               "runtime_dir: run/runtime\n"
               "http:\n"
               "  listen: \"" + listen + "\"\n"
               "devices: [cpu]\n"
               "cpu_cache_mb: 64\n"
               "log_level: info\n");
    std::filesystem::create_directories(root_ / "models.d");
    std::filesystem::create_directories(root_ / "run");
    install_plugin("echo", "echo-v1");
  }

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config() const { return root_ / "citadel.yaml"; }
  std::filesystem::path socket() const { return root_ / "run" / "admin.sock"; }
  std::filesystem::path log() const { return root_ / "citadel.log"; }
  std::filesystem::path models_dir() const { return root_ / "models.d"; }

  // plugins/<folder>/<folder>.so from a built variant, with a manifest named
  // after the folder. Replacing a library goes through a rename, as an
  // operator's `install` would, so a running copy is never written to.
  void install_plugin(const std::string& folder, const std::string& variant) {
    const std::filesystem::path target = root_ / "plugins" / folder;
    std::filesystem::create_directories(target);
    const std::filesystem::path library = target / (folder + ".so");
    const std::filesystem::path staging = target / (folder + ".so.new");
    std::filesystem::copy_file(binary_dir() / "test-plugins" / variant / (variant + ".so"), staging,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(staging, library);
    dir_.write("plugins/" + folder + "/plugin.yaml",
               "name: " + folder + "\nversion: \"1\"\ndefaults:\n  cache:\n    size_mb: 8\n");
  }

  // models.d/<name>.yaml; `options` is YAML mapping text ("step_delay_ms: 5").
  void write_model(const std::string& name, const std::string& plugin,
                   const std::string& options = "") {
    std::string text = "name: " + name + "\nplugin: " + plugin + "\ndevice: cpu\n";
    if (!options.empty()) text += "options: {" + options + "}\n";
    dir_.write("models.d/" + name + ".yaml", text);
  }
  void write_raw(const std::string& relative, const std::string& text) { dir_.write(relative, text); }
  void remove_model(const std::string& name) {
    std::filesystem::remove(root_ / "models.d" / (name + ".yaml"));
  }

  std::unique_ptr<CitadelProcess> start(std::vector<std::string> extra_arguments = {}) {
    auto process = std::make_unique<CitadelProcess>(binary_dir() / "host" / "citadel", config(),
                                                    socket(), log(), std::move(extra_arguments));
    process->wait_ready();
    return process;
  }

 private:
  TempDir dir_;
  std::filesystem::path root_;
};

// The HTTP port the host listens on (from `status`; 0: none).
inline uint16_t http_port(CitadelProcess& process) {
  return process.request({{"cmd", "status"}}).at("status").at("http_port").to_number<uint16_t>();
}

// The rows of `pool` (one per device), by device name.
inline std::map<std::string, boost::json::object> pool_rows(CitadelProcess& process) {
  std::map<std::string, boost::json::object> rows;
  const boost::json::object reply = process.request({{"cmd", "pool"}});
  for (const auto& device : reply.at("pool").at("devices").as_array()) {
    rows[std::string(device.at("device").as_string())] = device.as_object();
  }
  return rows;
}

// The generation in `status`.
inline uint64_t generation_of(CitadelProcess& process) {
  return process.request({{"cmd", "status"}}).at("status").at("generation").to_number<uint64_t>();
}

// Waits until `status` reports a generation above `previous` (a SIGHUP
// reload finished) or a failed reload newer than `previous_reload_ms`.
inline boost::json::object wait_for_reload(CitadelProcess& process, int64_t previous_reload_ms,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    boost::json::object status = process.request({{"cmd", "status"}}).at("status").as_object();
    if (const auto* last = status.if_contains("last_reload")) {
      if (last->at("finished_unix_ms").to_number<int64_t>() > previous_reload_ms) return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("no reload finished in time:\n" + process.log());
}

inline int64_t last_reload_ms(CitadelProcess& process) {
  boost::json::object status = process.request({{"cmd", "status"}}).at("status").as_object();
  const auto* last = status.if_contains("last_reload");
  return last ? last->at("finished_unix_ms").to_number<int64_t>() : 0;
}

// Runs one non-streamed infer and returns the reply line.
inline boost::json::object infer(CitadelProcess& process, const std::string& model,
                                 const std::string& prompt, int max_tokens = 8) {
  return process.request({{"cmd", "infer"},
                          {"model", model},
                          {"input", {{"prompt", prompt}, {"max_tokens", max_tokens}}}});
}

// Sends a streamed infer on `connection` and returns its first reply line.
inline boost::json::object start_streamed_infer(AdminConnection& connection, const std::string& model,
                                                const std::string& prompt, int max_tokens) {
  boost::json::object request{{"cmd", "infer"},
                              {"model", model},
                              {"stream", true},
                              {"input", {{"prompt", prompt}, {"max_tokens", max_tokens}}}};
  connection.send_raw(boost::json::serialize(request) + "\n");
  return boost::json::parse(connection.read_line()).as_object();
}

// Reads reply lines until the final one (no "more") and returns it.
inline boost::json::object read_final_line(AdminConnection& connection) {
  for (;;) {
    boost::json::object line = boost::json::parse(connection.read_line()).as_object();
    if (!line.contains("more")) return line;
  }
}

}  // namespace citadel::test
