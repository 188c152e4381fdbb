// `replicas: N` on the real citadel binary (echo test plugin, two replicas on
// the one CPU pool of `devices: [cpu]`): a concurrent burst spreads over both
// replicas (counted by `models` and /metrics), requests with one prompt
// prefix stick to the replica that served it even when the other is less
// loaded, and a reload from 2 to 1 replica (and back) while requests run
// loses none and keeps the running replica.
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <sstream>

namespace {

using citadel::test::AdminConnection;
using citadel::test::CitadelProcess;

void write_replicated(citadel::test::HostTree& tree, int replicas, int step_delay_ms) {
  tree.write_raw("models.d/chat.yaml", "name: chat\nplugin: echo\ndevice: cpu\nreplicas: " +
                                           std::to_string(replicas) + "\noptions: {step_delay_ms: " +
                                           std::to_string(step_delay_ms) + "}\n");
}

// The `replicas` rows of `models`: replica index -> row.
std::map<int, boost::json::object> replica_rows(CitadelProcess& host) {
  std::map<int, boost::json::object> rows;
  const boost::json::object reply = host.request({{"cmd", "models"}});
  for (const auto& row : reply.at("replicas").as_array()) {
    if (row.at("model").as_string() != "chat") continue;
    rows[row.at("replica").to_number<int>()] = row.as_object();
  }
  return rows;
}

uint64_t routed(CitadelProcess& host, int replica) {
  auto rows = replica_rows(host);
  return rows.count(replica) ? rows.at(replica).at("routed").to_number<uint64_t>() : 0;
}

// Value of citadel_replica_requests_total for one replica of chat in /metrics.
double scraped_routed(const std::string& metrics, int replica) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("citadel_replica_requests_total{", 0) != 0) continue;
    if (line.find("model=\"chat\"") == std::string::npos) continue;
    if (line.find("replica=\"" + std::to_string(replica) + "\"") == std::string::npos) continue;
    if (line.find("device=\"cpu\"") == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// Streamed requests in flight, one admin connection each.
struct Running {
  std::unique_ptr<AdminConnection> connection;
  std::string expected;
};

Running start(const citadel::test::HostTree& tree, const std::string& prompt, int max_tokens) {
  Running running{std::make_unique<AdminConnection>(tree.socket()), ""};
  for (int i = 0; i < max_tokens; ++i) running.expected += prompt[i % prompt.size()];
  const boost::json::object first = citadel::test::start_streamed_infer(*running.connection, "chat", prompt, max_tokens);
  REQUIRE(first.at("ok").as_bool());
  return running;
}

// Reads the request to its end; returns the whole text (the final line's).
std::string finish(Running& running) {
  const boost::json::object line = citadel::test::read_final_line(*running.connection);
  REQUIRE(line.at("ok").as_bool());
  return std::string(line.at("text").as_string());
}

}  // namespace

TEST_CASE("two replicas serve one name and a concurrent burst spreads over both", "[integration][replicas]") {
  citadel::test::HostTree tree("127.0.0.1:0");
  write_replicated(tree, 2, 3);
  auto host = tree.start();

  const boost::json::object models = host->request({{"cmd", "models"}});
  REQUIRE(models.at("models").as_array().size() == 1);
  CHECK(models.at("models").at(0).at("replicas").to_number<int>() == 2);
  auto rows = replica_rows(*host);
  REQUIRE(rows.size() == 2);
  CHECK(rows.at(0).at("device").as_string() == "cpu");
  CHECK(rows.at(1).at("device").as_string() == "cpu");
  const boost::json::object pool = host->request({{"cmd", "pool"}});
  std::vector<std::string> spaces;
  for (const auto& device : pool.at("pool").at("devices").as_array())
    for (const auto& space : device.at("spaces").as_array()) spaces.emplace_back(space.at("model").as_string());
  CHECK(spaces.size() == 2);  // chat@g1 and chat@g1.r1: one cache space each

  std::vector<Running> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(start(tree, "burst" + std::to_string(i), 40));
  for (Running& running : burst) CHECK(finish(running) == running.expected);

  const uint64_t first = routed(*host, 0), second = routed(*host, 1);
  CHECK(first + second == 8);
  CHECK(first >= 3);
  CHECK(second >= 3);
  citadel::test::HttpClient client("127.0.0.1", citadel::test::http_port(*host));
  const std::string metrics = client.get("/metrics").body;
  INFO(metrics);
  CHECK(scraped_routed(metrics, 0) == double(first));
  CHECK(scraped_routed(metrics, 1) == double(second));
  // Both replicas' requests count in the model's own series.
  CHECK(metrics.find("citadel_requests_total{model=\"chat\",outcome=\"length\"} 8") != std::string::npos);
}

TEST_CASE("requests with one prompt prefix stick to the replica that served it", "[integration][replicas]") {
  citadel::test::HostTree tree;
  write_replicated(tree, 2, 3);
  auto host = tree.start();
  const std::string prefix(200, 'p');  // three 64-byte affinity chunks

  // A long request keeps replica 0 busy, so the first prefixed one goes to 1.
  Running busy = start(tree, "busy", 150);
  Running seed = start(tree, prefix + "first", 4);
  CHECK(finish(seed) == seed.expected);
  CHECK(routed(*host, 1) == 1);
  CHECK(finish(busy) == busy.expected);

  // Both idle now: least-loaded alone would pick replica 0; affinity says 1.
  for (int i = 0; i < 5; ++i) {
    CHECK(citadel::test::infer(*host, "chat", prefix + "again" + std::to_string(i), 4).at("ok").as_bool());
  }
  CHECK(routed(*host, 1) == 6);
  CHECK(routed(*host, 0) == 1);
  // A prompt without that prefix goes to the least loaded (the first) replica.
  CHECK(citadel::test::infer(*host, "chat", std::string(200, 'q'), 4).at("ok").as_bool());
  CHECK(routed(*host, 0) == 2);
}

TEST_CASE("a reload from 2 to 1 replica and back loses no request in flight", "[integration][replicas]") {
  citadel::test::HostTree tree;
  write_replicated(tree, 2, 4);
  auto host = tree.start();

  std::vector<Running> running;
  for (int i = 0; i < 6; ++i) running.push_back(start(tree, "inflight" + std::to_string(i), 60));
  REQUIRE(routed(*host, 1) >= 2);  // replica 1 has work to finish

  write_replicated(tree, 1, 4);
  const boost::json::object reload = host->request({{"cmd", "reload"}});
  INFO(host->log());
  REQUIRE(reload.at("ok").as_bool());
  CHECK(reload.at("report").at("changed") == boost::json::array{"chat"});
  // New requests meanwhile go to the one replica left.
  CHECK(citadel::test::infer(*host, "chat", "during", 6).at("text").as_string() == "during");
  for (Running& request : running) CHECK(finish(request) == request.expected);

  auto rows = replica_rows(*host);
  REQUIRE(rows.size() == 1);
  CHECK(rows.at(0).at("generation").to_number<int>() == 1);  // kept, not recreated

  write_replicated(tree, 2, 4);
  REQUIRE(host->request({{"cmd", "reload"}}).at("ok").as_bool());
  rows = replica_rows(*host);
  REQUIRE(rows.size() == 2);
  CHECK(rows.at(0).at("generation").to_number<int>() == 1);
  CHECK(rows.at(1).at("generation").to_number<int>() == 3);
  for (int i = 0; i < 4; ++i) {
    CHECK(citadel::test::infer(*host, "chat", "after" + std::to_string(i), 6).at("text").as_string() ==
          "after" + std::to_string(i));
  }
}
