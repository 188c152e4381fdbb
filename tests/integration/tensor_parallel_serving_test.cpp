// The real citadel binary serving the real llm-gptq.so on a committed tiny
// GPTQ model (tests/data/llm/qwen2-gptq) twice: once whole and once with
// tensor_parallel_size 2 (two CPU ranks). Greedy completions of both are the
// same text; `citadelctl model` shows the split model's cache blocks holding
// rank 0's half of the KV heads and its cache as not swappable, and `pool`
// shows rank 1's share of the blocks claimed from the CPU pool; a split that
// the model cannot take fails that model alone, named in the reload reply,
// while the others keep serving.
#include "integration/serving_tree.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>


using namespace citadel::test;

namespace {

void write_qwen2(ServingTree& serving, const std::string& name, const std::string& options) {
  serving.tree.write_raw("models.d/" + name + ".yaml",
                         "name: " + name + "\nplugin: llm-gptq\ndevice: cpu\nweights: " +
                             (source_dir() / "tests/data/llm/qwen2-gptq").string() +
                             "\ncache: {size_mb: 8}\noptions: {threads: 2" + options + "}\n");
}

// The text and the number of tokens of a greedy completion.
std::pair<std::string, int64_t> greedy_text(const ServingTree& serving, const std::string& model,
                                            const std::string& prompt) {
  const HttpResponse response = serving.client().post_json(
      "/v1/completions", boost::json::serialize(boost::json::object{
                             {"model", model}, {"prompt", prompt}, {"max_tokens", 16}, {"temperature", 0}}));
  INFO(response.body);
  REQUIRE(response.status == 200);
  const boost::json::value body = response.json();
  return {std::string(body.at("choices").at(0).at("text").as_string()),
          body.at("usage").at("completion_tokens").to_number<int64_t>()};
}

}  // namespace

TEST_CASE("llm-gptq split over two tensor-parallel ranks serves the whole model's greedy text",
          "[integration][tensor_parallel]") {
  ServingTree serving;
  serving.install_built_plugin("llm-gptq");
  write_qwen2(serving, "whole", "");
  write_qwen2(serving, "split", ", tensor_parallel_size: 2");
  serving.start();

  for (const char* prompt : {"The ranks add their sums", "a second, somewhat longer prompt for both models"}) {
    CAPTURE(prompt);
    const auto whole = greedy_text(serving, "whole", prompt);
    CHECK(whole.second > 0);
    CHECK(greedy_text(serving, "split", prompt) == whole);
  }

  const boost::json::value whole = serving.process->request({{"cmd", "model"}, {"name", "whole"}});
  const boost::json::value split = serving.process->request({{"cmd", "model"}, {"name", "split"}});
  const auto bytes = [](const boost::json::value& reply) {
    return reply.at("model").at("describe").at("bytes_per_token_per_layer").to_number<uint64_t>();
  };
  CHECK(bytes(split) * 2 == bytes(whole));
  CHECK(whole.at("model").at("describe").at("cache_swappable").as_bool());
  CHECK_FALSE(split.at("model").at("describe").at("cache_swappable").as_bool());

  // Rank 1 keeps its share of every block id in host memory: claimed from
  // the CPU pool for all the ids the 8 MiB space can hold, in slabs of 64.
  const boost::json::value& describe = split.at("model").at("describe");
  const uint64_t block_bytes = describe.at("tokens_per_block").to_number<uint64_t>() *
                               describe.at("num_layers").to_number<uint64_t>() * bytes(split);
  REQUIRE(describe.at("device_claims").as_array().size() == 1);
  CHECK(describe.at("device_claims").at(0).at("device").as_string() == "cpu");
  CHECK(describe.at("device_claims").at(0).at("bytes_per_block").to_number<uint64_t>() == block_bytes);
  CHECK(describe.at("device_claims").at(0).at("fixed_bytes").to_number<uint64_t>() == 0);
  CHECK(whole.at("model").at("describe").at("device_claims").as_array().empty());
  const uint64_t ids = (8ull << 20) / block_bytes;
  const uint64_t claimed = (ids + 63) / 64 * 64 * block_bytes;
  const boost::json::value pool = serving.process->request({{"cmd", "pool"}}).at("pool");
  bool found = false;
  for (const auto& device : pool.at("devices").as_array()) {
    if (device.at("device").as_string() != "cpu") continue;
    CHECK(device.at("claimed_bytes").to_number<uint64_t>() == claimed);
    for (const auto& claim : device.at("claims").as_array()) {
      found = found || (claim.at("model").as_string() == "split@g1" && claim.at("bytes").to_number<uint64_t>() == claimed);
    }
  }
  CHECK(found);

  // 3 ranks do not divide the 8 heads: that model fails
  // to load, named, and the others keep serving.
  write_qwen2(serving, "three", ", tensor_parallel_size: 3");
  const boost::json::value reload = serving.process->request({{"cmd", "reload"}});
  INFO(boost::json::serialize(reload));
  CHECK(boost::json::serialize(reload).find("tensor_parallel_size") != std::string::npos);
  CHECK(greedy_text(serving, "split", "still serving").second > 0);
}
