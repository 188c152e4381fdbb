// Device claims (ABI 2.4) on the real citadel binary with the echo test
// plugin, which declares them as llm-gptq's tensor-parallel ranks do: the
// memory a model keeps outside its cache blocks is taken off the budget of
// the pool on the claim's device (fixed bytes plus a share for every block
// id the model's cache space can hold, in whole chunks), shown in `pool`,
// `model` and /metrics, counted by `device: auto`, and given back when the
// model goes. A claim on a device the host has no pool on fails that model
// alone, named, while the others keep serving.
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

namespace {

using citadel::test::HostTree;
using citadel::test::pool_rows;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// A model on `device` with 32 KiB blocks (16 tokens x 2 layers x 1 KiB) in
// a 4 MiB cache: 128 block ids; and the echo plugin's device_claims option.
std::string claiming_model(const std::string& name, const std::string& device, const std::string& claims) {
  return "name: " + name + "\nplugin: echo\ndevice: " + device +
         "\ncache: {size_mb: 4}\noptions: {tokens_per_block: 16, num_layers: 2, bytes_per_token_per_layer: 1024, "
         "device_claims: [" + claims + "]}\n";
}

}  // namespace

TEST_CASE("a model's memory on other devices is claimed from their pools while it lives",
          "[integration][devices][tensor_parallel]") {
  HostTree tree("127.0.0.1:0");
  tree.write_raw("citadel.yaml",
                 "admin: {socket: run/admin.sock, max_line_bytes: 65536}\n"
                 "plugins_dir: plugins\nmodels_dir: models.d\nruntime_dir: run/runtime\n"
                 "http: {listen: \"127.0.0.1:0\"}\ncpu_cache_mb: 32\n"
                 "devices:\n  - {name: cpu/a, device: cpu, pool_mb: 64}\n"
                 "  - {name: cpu/b, device: cpu, pool_mb: 64}\n");
  // 40 MiB fixed plus 128 ids x 8 KiB, in chunks of 96 ids: 192 x 8 KiB = 1.5 MiB.
  tree.write_raw("models.d/split.yaml",
                 claiming_model("split", "cpu/a",
                                "{device: cpu, fixed_bytes: 41943040, bytes_per_block: 8192, blocks_per_chunk: 96}"));
  auto host = tree.start();
  const uint64_t claimed = 40 * kMiB + 192 * 8192;

  auto rows = pool_rows(*host);
  // The claim lies on the model's own pool (cpu/a is on the claim's device).
  CHECK(rows.at("cpu/a").at("claimed_bytes").to_number<uint64_t>() == claimed);
  REQUIRE(rows.at("cpu/a").at("claims").as_array().size() == 1);
  CHECK(rows.at("cpu/a").at("claims").at(0).at("model").as_string() == "split@g1");
  CHECK(rows.at("cpu/a").at("claims").at(0).at("bytes").to_number<uint64_t>() == claimed);
  CHECK(rows.at("cpu/b").at("claimed_bytes").to_number<uint64_t>() == 0);

  const boost::json::object model = host->request({{"cmd", "model"}, {"name", "split"}});
  const boost::json::value& described = model.at("model").at("describe").at("device_claims");
  REQUIRE(described.as_array().size() == 1);
  CHECK(described.at(0).at("device").as_string() == "cpu");
  CHECK(described.at(0).at("fixed_bytes").to_number<uint64_t>() == 40 * kMiB);
  CHECK(described.at(0).at("bytes_per_block").to_number<uint64_t>() == 8192);
  CHECK(described.at(0).at("blocks_per_chunk").to_number<uint64_t>() == 96);

  citadel::test::HttpClient client("127.0.0.1", citadel::test::http_port(*host));
  const std::string metrics = client.get("/metrics").body;
  CHECK_THAT(metrics, Catch::Contains("citadel_model_device_claimed_bytes{device=\"cpu/a\",model=\"split@g1\"} " +
                                      std::to_string(claimed)));

  // device: auto sees what the claim leaves on cpu/a (64 - 4 - 41.5 MiB).
  tree.write_raw("models.d/second.yaml", "name: second\nplugin: echo\ndevice: auto\n");
  REQUIRE(host->request({{"cmd", "reload"}}).at("ok").as_bool());
  CHECK_THAT(host->log(), Catch::Contains("device auto -> cpu/b"));
  CHECK(citadel::test::infer(*host, "split", "abc", 4).at("text").as_string() == "abca");

  // A claim on a GPU this host has no pool on fails that model, named.
  tree.write_raw("models.d/far.yaml",
                 claiming_model("far", "cpu/b", "{device: \"cuda:3\", fixed_bytes: 1024, blocks_per_chunk: 1}"));
  const boost::json::object refused = host->request({{"cmd", "reload"}});
  const std::string refusal = boost::json::serialize(refused);
  INFO(refusal);
  CHECK(refusal.find("far.yaml") != std::string::npos);
  CHECK(refusal.find("no cache pool lies on cuda:3") != std::string::npos);
  CHECK(citadel::test::infer(*host, "second", "xyz", 5).at("text").as_string() == "xyzxy");
  CHECK(pool_rows(*host).at("cpu/b").at("claimed_bytes").to_number<uint64_t>() == 0);

  // A claim that names no device is refused as an unusable describe().
  tree.write_raw("models.d/far.yaml", claiming_model("far", "cpu/b", "{device: \"cuda:-1\", blocks_per_chunk: 1}"));
  const std::string unusable = boost::json::serialize(host->request({{"cmd", "reload"}}));
  INFO(unusable);
  CHECK(unusable.find("device_claims[0] names no device") != std::string::npos);

  // The model goes, and its claim with it once the retired instance is
  // destroyed (after the reload reply, when its last request is done).
  tree.remove_model("far");
  tree.remove_model("split");
  REQUIRE(host->request({{"cmd", "reload"}}).at("ok").as_bool());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pool_rows(*host).at("cpu/a").at("claimed_bytes").to_number<uint64_t>() != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rows = pool_rows(*host);
  CHECK(rows.at("cpu/a").at("claimed_bytes").to_number<uint64_t>() == 0);
  CHECK(rows.at("cpu/a").at("claims").as_array().empty());
}
