// The llm-gptq.so through the plugin ABI on a committed tiny GPTQ model:
// describe() reports the KV geometry, creation and request errors come back
// as statuses with messages naming the cause, max_tokens / stop strings /
// seeds behave, and a step item of an unknown request fails alone.
#include "plugin_harness.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>

using citadel::test::PluginHarness;
using Catch::Matchers::Contains;

namespace {

std::string tiny_model() {
  const auto path = citadel::test::source_dir() / "tests/data/llm/llama3-gptq";
  REQUIRE(std::filesystem::exists(path / "config.json"));
  return path.string();
}

}  // namespace

TEST_CASE("describe reports the KV cache geometry of the model", "[llm]") {
  PluginHarness f16(tiny_model());
  REQUIRE(f16.create_status() == CITADEL_OK);
  CHECK(f16.info().task == CITADEL_TASK_TEXT_GENERATION);
  CHECK(f16.info().num_layers == 3);
  CHECK(f16.info().tokens_per_block == 16);
  CHECK(f16.info().bytes_per_token_per_layer == 2u * 2u * 32u * 2u);  // K+V, 2 kv heads, head_dim 32, f16
  CHECK(f16.info().max_context_tokens == 131072);
  PluginHarness f32(tiny_model(), R"({"kv_cache_dtype": "f32", "max_context_tokens": 512})");
  REQUIRE(f32.create_status() == CITADEL_OK);
  CHECK(f32.info().bytes_per_token_per_layer == 2u * 2u * 32u * 4u);
  CHECK(f32.info().max_context_tokens == 512);
}

TEST_CASE("creating an instance reports missing weights and bad options", "[llm]") {
  PluginHarness missing("/nonexistent/model-folder");
  CHECK(missing.create_status() != CITADEL_OK);
  CHECK_THAT(missing.create_error(), Contains("/nonexistent/model-folder"));
  PluginHarness bad_option(tiny_model(), R"({"kv_cache_dtype": "int8"})");
  CHECK(bad_option.create_status() == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(bad_option.create_error(), Contains("kv_cache_dtype"));
}

TEST_CASE("bad requests are refused at open with the field named", "[llm]") {
  PluginHarness plugin(tiny_model(), R"({"max_context_tokens": 64})");
  REQUIRE(plugin.create_status() == CITADEL_OK);
  std::string error;
  CHECK(plugin.open(1, R"({"prompt": "hi", "temperature": -2})", &error) == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(error, Contains("temperature"));
  CHECK(plugin.open(2, R"({"prompt": [1, 2, 5000]})", &error) == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(error, Contains("vocabulary"));
  std::string long_prompt(400, 'x');
  CHECK(plugin.open(3, "{\"prompt\": \"" + long_prompt + " " + long_prompt + "\"}", &error) ==
        CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(error, Contains("context"));
}

TEST_CASE("max_tokens bounds a request and a stop string cuts its text", "[llm]") {
  PluginHarness plugin(tiny_model());
  REQUIRE(plugin.create_status() == CITADEL_OK);
  REQUIRE(plugin.open(1, R"({"prompt": "The quick brown fox", "max_tokens": 12, "temperature": 0, "ignore_eos": true})") == CITADEL_OK);
  const auto free_run = plugin.run(true, 512).at(1);
  REQUIRE(free_run.tokens.size() == 12);
  CHECK(free_run.finish_reason == CITADEL_FINISH_LENGTH);
  REQUIRE(free_run.text.size() >= 4);

  // Stop at a piece of the text the model is known to produce (two bytes
  // starting on a character boundary in its second half).
  size_t at = free_run.text.size() / 2;
  while (at > 0 && (static_cast<unsigned char>(free_run.text[at]) & 0xC0) == 0x80) --at;
  const std::string stop = free_run.text.substr(at, 2);
  const size_t cut = free_run.text.find(stop);
  boost::json::object input{{"prompt", "The quick brown fox"}, {"max_tokens", 12}, {"temperature", 0},
                            {"ignore_eos", true}, {"stop", boost::json::array{boost::json::string(stop)}}};
  REQUIRE(plugin.open(2, boost::json::serialize(input)) == CITADEL_OK);
  const auto stopped = plugin.run(true, 512).at(2);
  CHECK(stopped.finish_reason == CITADEL_FINISH_STOP);
  CHECK(stopped.text == free_run.text.substr(0, cut));
  CHECK(stopped.tokens.size() <= 12);
}

TEST_CASE("sampling with a seed repeats itself across instances", "[llm]") {
  const char* input = R"({"prompt": "Permission is hereby granted", "max_tokens": 16, "temperature": 1.2,
                          "top_k": 50, "top_p": 0.95, "repetition_penalty": 1.1, "seed": 7, "ignore_eos": true})";
  PluginHarness first(tiny_model()), second(tiny_model());
  REQUIRE(first.open(1, input) == CITADEL_OK);
  REQUIRE(second.open(1, input) == CITADEL_OK);
  const auto a = first.run(true, 512).at(1);
  const auto b = second.run(true, 3).at(1);
  CHECK(a.tokens.size() == 16);
  CHECK(a.tokens == b.tokens);
}

TEST_CASE("chat messages are rendered with the model's chat template", "[llm]") {
  PluginHarness plugin(tiny_model());
  REQUIRE(plugin.open(1, R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})") == CITADEL_OK);
  const std::vector<int32_t>& ids = plugin.prompt_ids(1);
  REQUIRE(ids.size() > 4);
  CHECK(ids.front() == 900);  // <|begin_of_text|>
  const auto result = plugin.run(true, 512).at(1);
  CHECK(result.finish_reason != CITADEL_FINISH_ERROR);
  CHECK(result.tokens.size() <= 4);
}

TEST_CASE("a step item of an unknown request fails alone", "[llm]") {
  PluginHarness plugin(tiny_model());
  REQUIRE(plugin.open(1, R"({"prompt": [900, 5, 6, 7], "max_tokens": 2, "temperature": 0})") == CITADEL_OK);
  std::vector<std::byte> block_a(plugin.block_bytes()), block_b(plugin.block_bytes());
  void* address_a = block_a.data();
  void* address_b = block_b.data();
  const uint32_t ids[1] = {0};
  std::vector<citadel_step_item> items(2);
  items[0] = citadel_step_item{sizeof(citadel_step_item), 99, 0, 1, 1, ids, &address_a};
  items[1] = citadel_step_item{sizeof(citadel_step_item), 1, 0, 4, 1, ids, &address_b};
  const std::vector<citadel_step_output> outputs = plugin.step(items);
  CHECK(outputs[0].state == CITADEL_REQUEST_FAILED);
  REQUIRE(outputs[0].error != nullptr);
  CHECK_THAT(std::string(outputs[0].error), Contains("unknown request id 99"));
  CHECK(outputs[1].state == CITADEL_REQUEST_RUNNING);
  CHECK(outputs[1].appended_tokens == 1);
  CHECK(outputs[1].token_id >= 0);

  // Asking for more positions than the request knows fails that request.
  items.assign(1, citadel_step_item{sizeof(citadel_step_item), 1, 0, 9, 1, ids, &address_b});
  const std::vector<citadel_step_output> too_far = plugin.step(items);
  CHECK(too_far[0].state == CITADEL_REQUEST_FAILED);
}
