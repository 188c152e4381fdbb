// Every committed reference model (tests/data/llm/<model>/reference.json,
// made by tools/dump_reference.py from transformers in float32): the CPU
// path's last-position logits are within 1e-2 relative error, the plugin
// encodes the prompts (text and chat) to the reference ids, and a greedy
// 32-token continuation through the plugin ABI is identical; batched,
// chunked and preempted-then-recomputed runs give the same tokens.
#include "forward.h"
#include "hf_config.h"
#include "llm/reference_data.hpp"
#include "plugin_harness.hpp"
#include "weights.h"

#include "runtime/core/thread_pool.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace citadel::llm;

namespace {

using citadel::test::read_reference;
using citadel::test::reference_models;

template <typename T>
std::vector<T> numbers(const boost::json::value& array) {
  return citadel::test::reference_numbers<T>(array);
}

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string text = "[";
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? "," : "") + std::to_string(ids[i]);
  return text + "]";
}

std::string greedy_input(const std::vector<int32_t>& ids, size_t steps) {
  return "{\"prompt\": " + ids_json(ids) + ", \"max_tokens\": " + std::to_string(steps) +
         ", \"temperature\": 0, \"ignore_eos\": true}";
}

}  // namespace

TEST_CASE("reference models are committed for the CPU path to be checked against", "[llm]") {
  CHECK(reference_models().size() >= 3);
}

TEST_CASE("last-position logits match the transformers reference within 1e-2", "[llm]") {
  citadel::runtime::ThreadPool pool(2);
  for (const fs::path& model : reference_models()) {
    INFO("model " << model.filename().string());
    const HfModelConfig config = load_hf_config(model);
    const ModelWeights weights = load_checkpoint_weights(config, model.string());
    const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
    ForwardPass forward(config, weights, kv);
    const boost::json::object reference = read_reference(model);
    for (const auto& prompt_value : reference.at("prompts").as_array()) {
      const auto& prompt = prompt_value.as_object();
      const std::vector<int32_t> ids = numbers<int32_t>(prompt.at("input_ids"));
      const std::vector<double> expected = numbers<double>(prompt.at("last_logits"));
      std::vector<std::vector<std::byte>> storage((ids.size() + kTokensPerBlock - 1) / kTokensPerBlock,
                                                  std::vector<std::byte>(kv.block_bytes()));
      std::vector<void*> blocks;
      for (auto& block : storage) blocks.push_back(block.data());
      const std::vector<float> logits = forward.run(std::vector<SequenceChunk>{{ids, 0, blocks, true}}, pool);
      REQUIRE(logits.size() == expected.size());
      double diff = 0.0, scale = 0.0;
      for (size_t i = 0; i < logits.size(); ++i) {
        diff = std::max(diff, std::abs(logits[i] - expected[i]));
        scale = std::max(scale, std::abs(expected[i]));
      }
      INFO("prompt " << prompt.at("text").as_string().c_str() << ": relative error " << diff / scale);
      CHECK(diff / scale < 1e-2);
    }
  }
}

TEST_CASE("the plugin encodes text and chat prompts to the reference token ids", "[llm]") {
  for (const fs::path& model : reference_models()) {
    INFO("model " << model.filename().string());
    citadel::test::PluginHarness plugin(model.string());
    REQUIRE(plugin.create_status() == CITADEL_OK);
    const boost::json::object reference = read_reference(model);
    uint64_t id = 1;
    for (const auto& prompt_value : reference.at("prompts").as_array()) {
      const auto& prompt = prompt_value.as_object();
      boost::json::object input;
      if (prompt.contains("messages")) input["messages"] = prompt.at("messages");
      else input["prompt"] = prompt.at("text");
      input["max_tokens"] = 1;
      REQUIRE(plugin.open(id, boost::json::serialize(input)) == CITADEL_OK);
      CHECK(plugin.prompt_ids(id) == numbers<int32_t>(prompt.at("input_ids")));
      ++id;
    }
  }
}

TEST_CASE("greedy continuations through the plugin ABI equal the reference, batched or not", "[llm]") {
  for (const fs::path& model : reference_models()) {
    INFO("model " << model.filename().string());
    const boost::json::object reference = read_reference(model);
    const auto& prompts = reference.at("prompts").as_array();
    const size_t steps = static_cast<size_t>(reference.at("steps").to_number<int64_t>());
    citadel::test::PluginHarness plugin(model.string());
    REQUIRE(plugin.create_status() == CITADEL_OK);
    CHECK(plugin.info().tokens_per_block == 16);

    auto open_all = [&] {
      for (size_t i = 0; i < prompts.size(); ++i) {
        REQUIRE(plugin.open(i + 1, greedy_input(numbers<int32_t>(prompts[i].at("input_ids")), steps)) == CITADEL_OK);
      }
    };
    open_all();
    const auto single = plugin.run(/*batched=*/false, /*chunk=*/4096);
    open_all();
    const auto batched = plugin.run(/*batched=*/true, /*chunk=*/5);
    open_all();
    const auto preempted = plugin.run(/*batched=*/true, /*chunk=*/64, /*preempt_after=*/10);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i);
      const std::vector<int32_t> expected = numbers<int32_t>(prompts[i].at("greedy_ids"));
      CHECK(single.at(i + 1).tokens == expected);
      CHECK(single.at(i + 1).finish_reason == CITADEL_FINISH_LENGTH);
      CHECK(batched.at(i + 1).tokens == single.at(i + 1).tokens);
      CHECK(batched.at(i + 1).text == single.at(i + 1).text);
      CHECK(preempted.at(i + 1).tokens == single.at(i + 1).tokens);
    }
  }
}
