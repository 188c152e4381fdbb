// Several devices on one machine without a second GPU: two logical devices
// on the CPU (`devices: [{name: cpu/a, device: cpu, pool_mb: 64}, ...]`), a
// pool each, on the real citadel binary with the echo test plugin. Checks
// the several-device paths: `device: auto` places a model on the device with
// more free memory; `replicas: 2` puts one replica on each and a burst is
// served by both (per-device pool stats in `pool` and /metrics); a reload
// that drops a device with models on it is refused while a models.d file
// still names it, and otherwise keeps it serving until the restart, with a
// warning naming what runs there, until a restart moves it; no request is
// lost. scripts/gpu-checks.sh
// runs the same shape on cuda:0.
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <sstream>

namespace {

using citadel::test::AdminConnection;
using citadel::test::CitadelProcess;
using citadel::test::HostTree;
using citadel::test::pool_rows;

constexpr uint64_t kMiB = uint64_t{1} << 20;

void write_host(HostTree& tree, const std::string& devices) {
  tree.write_raw("citadel.yaml",
                 "admin: {socket: run/admin.sock, max_line_bytes: 65536}\n"
                 "plugins_dir: plugins\n"
                 "models_dir: models.d\n"
                 "runtime_dir: run/runtime\n"
                 "http: {listen: \"127.0.0.1:0\"}\n"
                 "cpu_cache_mb: 32\n"
                 "devices:\n" + devices);
}

const std::string kTwoDevices = "  - {name: cpu/a, device: cpu, pool_mb: 64}\n"
                                "  - {name: cpu/b, device: cpu, pool_mb: 64}\n";

// The device whose pool holds a cache space of `model` (generation any).
std::string device_of(CitadelProcess& host, const std::string& space_prefix) {
  for (const auto& [device, row] : pool_rows(host)) {
    for (const auto& space : row.at("spaces").as_array()) {
      if (std::string(space.at("model").as_string()).starts_with(space_prefix)) return device;
    }
  }
  return "";
}

// replica index -> device, and routed counts, of `model` from `models`.
std::map<int, std::pair<std::string, uint64_t>> replica_rows(CitadelProcess& host, const std::string& model) {
  std::map<int, std::pair<std::string, uint64_t>> rows;
  const boost::json::object reply = host.request({{"cmd", "models"}});
  for (const auto& row : reply.at("replicas").as_array()) {
    if (row.at("model").as_string() != model) continue;
    rows[row.at("replica").to_number<int>()] = {std::string(row.at("device").as_string()),
                                                row.at("routed").to_number<uint64_t>()};
  }
  return rows;
}

// The value of the /metrics line starting with `series` (name and labels), -1 when absent.
double scraped(const std::string& metrics, const std::string& series) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

struct Running {
  std::unique_ptr<AdminConnection> connection;
  std::string expected;
};

Running start(const HostTree& tree, const std::string& model, const std::string& prompt, int max_tokens) {
  Running running{std::make_unique<AdminConnection>(tree.socket()), ""};
  for (int i = 0; i < max_tokens; ++i) running.expected += prompt[i % prompt.size()];
  const boost::json::object first = citadel::test::start_streamed_infer(*running.connection, model, prompt, max_tokens);
  REQUIRE(first.at("ok").as_bool());
  return running;
}

std::string finish(Running& running) {
  const boost::json::object line = citadel::test::read_final_line(*running.connection);
  REQUIRE(line.at("ok").as_bool());
  return std::string(line.at("text").as_string());
}

}  // namespace

TEST_CASE("device auto places a second model on the logical device with more free memory",
          "[integration][devices]") {
  HostTree tree;
  write_host(tree, kTwoDevices);
  // `big` holds a 40 MiB floor of cpu/a's 64 MiB: cpu/b is the freer device.
  tree.write_raw("models.d/big.yaml", "name: big\nplugin: echo\ndevice: cpu/a\ncache: {size_mb: 48, reserved_mb: 40}\n");
  auto host = tree.start();
  auto rows = pool_rows(*host);
  REQUIRE(rows.size() == 3);
  for (const std::string device : {"cpu/a", "cpu/b"}) {
    CHECK(rows.at(device).at("physical_device").as_string() == "cpu");
    CHECK(rows.at(device).at("budget_bytes").to_number<uint64_t>() == 64 * kMiB);
  }
  CHECK(rows.at("cpu").at("budget_bytes").to_number<uint64_t>() == 32 * kMiB);
  CHECK(device_of(*host, "big@") == "cpu/a");

  tree.write_raw("models.d/second.yaml", "name: second\nplugin: echo\ndevice: auto\n");
  const boost::json::object reload = host->request({{"cmd", "reload"}});
  INFO(host->log());
  REQUIRE(reload.at("ok").as_bool());
  CHECK(device_of(*host, "second@") == "cpu/b");
  CHECK_THAT(host->log(), Catch::Contains("device auto -> cpu/b: the device with the most free cache pool memory "
                                          "(cpu/a 24 MiB, cpu/b 64 MiB free)"));
  // The plugin runs on the physical device behind cpu/b.
  CHECK_THAT(host->log(), Catch::Contains("model second created with plugin echo 1.0.0 on cpu (generation 2)"));
  CHECK(citadel::test::infer(*host, "second", "xyz", 5).at("text").as_string() == "xyzxy");
}

TEST_CASE("two replicas go one to each logical device and a burst uses both pools", "[integration][devices]") {
  HostTree tree("127.0.0.1:0");
  write_host(tree, kTwoDevices);
  tree.write_raw("models.d/chat.yaml", "name: chat\nplugin: echo\nreplicas: 2\noptions: {step_delay_ms: 3}\n");
  auto host = tree.start();
  auto replicas = replica_rows(*host, "chat");
  REQUIRE(replicas.size() == 2);
  CHECK(replicas.at(0).first == "cpu/a");
  CHECK(replicas.at(1).first == "cpu/b");
  CHECK(device_of(*host, "chat@g1.r1") == "cpu/b");

  std::vector<Running> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(start(tree, "chat", "burst" + std::to_string(i), 60));
  // Every request has produced a token: both pools hold live blocks now.
  auto during = pool_rows(*host);
  CHECK(during.at("cpu/a").at("used_bytes").to_number<uint64_t>() > 0);
  CHECK(during.at("cpu/b").at("used_bytes").to_number<uint64_t>() > 0);
  CHECK(during.at("cpu").at("used_bytes").to_number<uint64_t>() == 0);
  for (Running& running : burst) CHECK(finish(running) == running.expected);

  replicas = replica_rows(*host, "chat");
  CHECK(replicas.at(0).second + replicas.at(1).second == 8);
  CHECK(replicas.at(0).second >= 3);
  CHECK(replicas.at(1).second >= 3);
  citadel::test::HttpClient client("127.0.0.1", citadel::test::http_port(*host));
  const std::string metrics = client.get("/metrics").body;
  INFO(metrics);
  CHECK(scraped(metrics, "citadel_replica_requests_total{device=\"cpu/a\",model=\"chat\",replica=\"0\"}") ==
        double(replicas.at(0).second));
  CHECK(scraped(metrics, "citadel_replica_requests_total{device=\"cpu/b\",model=\"chat\",replica=\"1\"}") ==
        double(replicas.at(1).second));
  CHECK(scraped(metrics, "citadel_cache_page_maps_total{device=\"cpu/a\"}") > 0);
  CHECK(scraped(metrics, "citadel_cache_page_maps_total{device=\"cpu/b\"}") > 0);
  CHECK(scraped(metrics, "citadel_cache_page_maps_total{device=\"cpu\"}") == 0);
  CHECK(scraped(metrics, "citadel_cache_device_info{device=\"cpu/b\",physical_device=\"cpu\"}") == 1);
}

TEST_CASE("a reload that drops a logical device with models on it loses nothing", "[integration][devices]") {
  HostTree tree;
  write_host(tree, kTwoDevices);
  tree.write_raw("models.d/chat.yaml", "name: chat\nplugin: echo\nreplicas: 2\noptions: {step_delay_ms: 3}\n");
  tree.write_raw("models.d/solo.yaml", "name: solo\nplugin: echo\ndevice: cpu/b\n");
  // A 40 MiB floor on cpu/a, so that `auto` would prefer cpu/b were it not removed.
  tree.write_raw("models.d/anchor.yaml", "name: anchor\nplugin: echo\ndevice: cpu/a\ncache: {size_mb: 48, reserved_mb: 40}\n");
  auto host = tree.start();
  // Replica 0 takes the freer cpu/b, replica 1 the device without a replica.
  REQUIRE(replica_rows(*host, "chat").at(0).first == "cpu/b");
  REQUIRE(replica_rows(*host, "chat").at(1).first == "cpu/a");

  std::vector<Running> in_flight;
  for (int i = 0; i < 4; ++i) in_flight.push_back(start(tree, "chat", "flight" + std::to_string(i), 150));

  // solo.yaml still names cpu/b: refused, naming the file, line and device.
  write_host(tree, "  - {name: cpu/a, device: cpu, pool_mb: 64}\n");
  const boost::json::object refused = host->request({{"cmd", "reload"}});
  REQUIRE_FALSE(refused.at("ok").as_bool());
  CHECK_THAT(std::string(refused.at("error").at("message").as_string()),
             Catch::Contains((tree.models_dir() / "solo.yaml").string() + ":3: device: \"cpu/b\" is not in the "
                             "devices of " + tree.config().string() + " (cpu/a, cpu)"));
  CHECK(citadel::test::generation_of(*host) == 1);
  CHECK(citadel::test::infer(*host, "solo", "abc", 3).at("text").as_string() == "abc");

  // With solo moved to auto the reload applies: cpu/b takes no new model
  // (solo lands on cpu/a although cpu/b is freer) and keeps chat's replica 0.
  tree.write_raw("models.d/solo.yaml", "name: solo\nplugin: echo\ndevice: auto\n");
  const boost::json::object applied = host->request({{"cmd", "reload"}});
  INFO(host->log());
  REQUIRE(applied.at("ok").as_bool());
  std::string warnings;
  for (const auto& warning : applied.at("report").at("warnings").as_array()) {
    warnings += std::string(warning.as_string()) + "\n";
  }
  CHECK_THAT(warnings, Catch::Contains(tree.config().string() + ": devices: cpu/b removed: it takes no new models "
                                       "and its pool goes at the next restart; until then it still serves chat "
                                       "replica 0\n"));
  CHECK(device_of(*host, "solo@g2") == "cpu/a");
  CHECK(replica_rows(*host, "chat").at(0).first == "cpu/b");
  for (Running& running : in_flight) CHECK(finish(running) == running.expected);
  std::vector<Running> after;
  for (int i = 0; i < 6; ++i) after.push_back(start(tree, "chat", "after" + std::to_string(i), 20));
  for (Running& running : after) CHECK(finish(running) == running.expected);
  const auto replicas = replica_rows(*host, "chat");
  CHECK(replicas.at(0).second + replicas.at(1).second == 10);

  // At the next start cpu/b is gone and every model is served from cpu/a.
  host.reset();
  host = tree.start();
  const auto restarted = replica_rows(*host, "chat");
  CHECK(restarted.at(0).first == "cpu/a");
  CHECK(restarted.at(1).first == "cpu/a");
  CHECK(pool_rows(*host).count("cpu/b") == 0);
  CHECK(device_of(*host, "solo@") == "cpu/a");
  CHECK(citadel::test::infer(*host, "chat", "again", 5).at("text").as_string() == "again");
}
