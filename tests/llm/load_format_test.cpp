// llm-gptq's `load_format: dummy` through the plugin ABI: random weights of
// the shape and quantization that config.json gives, with the folder's
// tokenizer and no safetensors read (what bench/throughput's end-to-end GPU
// run serves); wrong values and GGUF files are refused naming the option.
#include "plugin_harness.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using citadel::test::PluginHarness;
using citadel::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// The committed tiny GPTQ model's config.json and tokenizer files, without
// its weights, and a vocabulary of 2048 (the tokenizer has 902 entries).
std::string config_only_folder(const TempDir& dir) {
  const auto source = citadel::test::source_dir() / "tests/data/llm/llama3-gptq";
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    std::filesystem::copy_file(source / name, dir.path() / name);
  }
  std::ifstream in(source / "config.json");
  std::stringstream text;
  text << in.rdbuf();
  boost::json::object config = boost::json::parse(text.str()).as_object();
  config["vocab_size"] = 2048;
  dir.write("config.json", boost::json::serialize(config));
  return dir.path().string();
}

}  // namespace

TEST_CASE("load_format dummy serves random weights of config.json's shape without a checkpoint", "[llm]") {
  TempDir dir;
  const std::string folder = config_only_folder(dir);

  PluginHarness checkpoint(folder);  // the default reads the (missing) safetensors
  CHECK(checkpoint.create_status() != CITADEL_OK);
  CHECK_THAT(checkpoint.create_error(), Contains(folder));

  PluginHarness dummy(folder, R"({"load_format": "dummy"})");
  REQUIRE(dummy.create_status() == CITADEL_OK);
  CHECK(dummy.info().num_layers == 3);
  CHECK(dummy.info().bytes_per_token_per_layer == 2u * 2u * 32u * 2u);
  const char* input = R"({"prompt": "The quick brown fox", "max_tokens": 24, "temperature": 0, "ignore_eos": true})";
  REQUIRE(dummy.open(1, input) == CITADEL_OK);
  const auto first = dummy.run(true, 512).at(1);
  CHECK(first.error.empty());
  CHECK(first.finish_reason == CITADEL_FINISH_LENGTH);
  REQUIRE(first.tokens.size() == 24);
  for (int32_t token : first.tokens) {
    CHECK(token >= 0);
    CHECK(token < 2048);
  }
  // The weights come from a fixed seed: a second instance generates the same.
  PluginHarness again(folder, R"({"load_format": "dummy"})");
  REQUIRE(again.open(1, input) == CITADEL_OK);
  CHECK(again.run(true, 3).at(1).tokens == first.tokens);
}

TEST_CASE("load_format refuses unknown values and GGUF files, naming the option", "[llm]") {
  TempDir dir;
  const std::string folder = config_only_folder(dir);
  PluginHarness unknown(folder, R"({"load_format": "random"})");
  CHECK(unknown.create_status() == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(unknown.create_error(), Contains("load_format"));

  const auto gguf_file = citadel::test::source_dir() / "tests/data/gguf/blocks.gguf";
  REQUIRE(std::filesystem::exists(gguf_file));
  PluginHarness on_gguf(gguf_file.string(), R"({"load_format": "dummy"})");
  CHECK(on_gguf.create_status() == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(on_gguf.create_error(), Contains("load_format dummy"));
}
