// /metrics of the real citadel binary (echo test plugin, after completions,
// a streamed chat, an admin infer, a failed and a good reload) checked by
// Prometheus' own linter, `promtool check metrics` (Debian's prometheus
// package, installed by scripts/install-deps.sh): any complaint fails, lint
// warnings included. Also the plugin counter a plugin names without _total.
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>

namespace {

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> chunk{};
  size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

TEST_CASE("/metrics of a live host passes promtool check metrics", "[integration][metrics]") {
  const CommandResult version = run_command("promtool --version");
  INFO("promtool is Debian's prometheus package: bash scripts/install-deps.sh");
  REQUIRE(version.status == 0);

  citadel::test::HostTree tree("127.0.0.1:0");
  tree.write_model("alpha", "echo");
  tree.write_model("beta", "echo", "step_delay_ms: 1");
  auto host = tree.start();
  citadel::test::HttpClient client("127.0.0.1", citadel::test::http_port(*host));
  REQUIRE(client.post_json("/v1/completions",
                           R"({"model":"alpha","prompt":"abc","max_tokens":7})").status == 200);
  REQUIRE(client.post_json("/v1/chat/completions",
                           R"({"model":"beta","messages":[{"role":"user","content":"hi"}],)"
                           R"("max_tokens":4,"stream":true})").status == 200);
  CHECK(client.post_json("/v1/completions", R"({"model":"nope","prompt":"x"})").status == 404);
  CHECK(citadel::test::infer(*host, "alpha", "xyz", 3).at("text").as_string() == "xyz");
  int64_t before = citadel::test::last_reload_ms(*host);
  tree.write_raw("models.d/broken.yaml", "name: broken\nplugin: echo\ncache: {size_mb: lots}\n");
  host->signal(SIGHUP);
  CHECK_FALSE(citadel::test::wait_for_reload(*host, before).at("last_reload").at("ok").as_bool());
  before = citadel::test::last_reload_ms(*host);
  tree.remove_model("broken");
  tree.write_model("gamma", "echo");
  host->signal(SIGHUP);
  CHECK(citadel::test::wait_for_reload(*host, before).at("last_reload").at("ok").as_bool());

  const citadel::test::HttpResponse metrics = client.get("/metrics");
  REQUIRE(metrics.status == 200);
  // Families of every part are there (a render that lost them would pass).
  INFO(metrics.body);
  for (const char* family : {"citadel_http_requests_total", "citadel_requests_total",
                             "citadel_time_to_first_token_seconds_bucket", "citadel_reloads_total",
                             "citadel_cache_used_bytes", "citadel_plugin_echo_steps_total",
                             "citadel_plugin_echo_batch_items_total", "citadel_plugin_echo_open_requests"}) {
    INFO(family);
    CHECK(metrics.body.find(std::string("\n") + family) != std::string::npos);
  }
  CHECK(metrics.body.find("citadel_plugin_echo_batch_items{") == std::string::npos);
  CHECK(metrics.body.find("_total_total") == std::string::npos);

  const std::filesystem::path scraped = tree.root() / "metrics.txt";
  std::ofstream(scraped) << metrics.body;
  const CommandResult check = run_command("promtool check metrics < '" + scraped.string() + "'");
  INFO("promtool check metrics:\n" << check.output);
  CHECK(check.status == 0);
  CHECK(check.output.empty());
}
