// GGUF models against transformers (tools/dump_gguf_reference.py: float32,
// from_pretrained(gguf_file=...), which dequantizes and un-permutes Q/K):
// the random-weight files of tests/data/gguf/<model>/ (every block type, the
// three architectures; tools/make_gguf_models.py) and the real SmolLM2-135M-
// Instruct Q4_1 file when it is installed (models/smollm2-135m-instruct-
// q4_1.gguf, or CITADEL_SMOLLM2_GGUF; the test says so when it skips it).
// Checked: the file's own tokenizer encodes the prompts to transformers'
// ids; last-position logits within 1e-2 (all of them, or the reference's
// top-k for SmolLM2); 32 greedy tokens through the plugin ABI identical.
#include "forward.h"
#include "gguf_model.h"
#include "llm/reference_data.hpp"
#include "plugin_harness.hpp"

#include "runtime/core/thread_pool.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;
using namespace citadel::llm;

namespace {

struct GgufCase {
  std::string name;
  fs::path model;      // the .gguf
  fs::path reference;  // its reference.json
};

fs::path smollm2_file() {
  if (const char* path = std::getenv("CITADEL_SMOLLM2_GGUF")) return path;
  return citadel::test::source_dir() / "models/smollm2-135m-instruct-q4_1.gguf";
}

std::vector<GgufCase> gguf_cases() {
  std::vector<GgufCase> cases;
  const fs::path root = citadel::test::source_dir() / "tests/data/gguf";
  for (const char* name : {"llama-gguf", "llama-spm-gguf", "qwen2-gguf", "qwen3-gguf"}) {
    cases.push_back({name, root / name / "model.gguf", root / name / "reference.json"});
  }
  if (fs::exists(smollm2_file())) {
    cases.push_back({"smollm2", smollm2_file(), root / "smollm2/reference.json"});
  } else {
    std::cout << "SKIPPED: the SmolLM2 GGUF fidelity check: " << smollm2_file().string()
              << " is not installed (bash scripts/setup-default-model.sh, or set CITADEL_SMOLLM2_GGUF)\n";
  }
  return cases;
}

boost::json::object read_json(const fs::path& reference) {
  return citadel::test::read_reference(reference.parent_path());  // reads <folder>/reference.json
}

template <typename T>
std::vector<T> numbers(const boost::json::value& array) {
  return citadel::test::reference_numbers<T>(array);
}

std::string greedy_input(const std::vector<int32_t>& ids, int64_t steps) {
  std::string text = "{\"prompt\": [";
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? "," : "") + std::to_string(ids[i]);
  return text + "], \"max_tokens\": " + std::to_string(steps) + ", \"temperature\": 0, \"ignore_eos\": true}";
}

}  // namespace

TEST_CASE("GGUF models: the file's tokenizer gives transformers' prompt ids", "[llm][gguf]") {
  for (const GgufCase& c : gguf_cases()) {
    INFO("model " << c.name);
    const GgufModel model = load_gguf_model(c.model, "auto", "");
    const boost::json::object reference = read_json(c.reference);
    for (const auto& prompt : reference.at("prompts").as_array()) {
      const std::string text(prompt.at("text").as_string());
      INFO("prompt " << text);
      CHECK(model.text->tokenizer().encode(text, true) == numbers<int32_t>(prompt.at("input_ids")));
    }
  }
}

TEST_CASE("GGUF models: last-position logits within 1e-2 of transformers", "[llm][gguf]") {
  citadel::runtime::ThreadPool pool(2);
  for (const GgufCase& c : gguf_cases()) {
    INFO("model " << c.name);
    const auto start = std::chrono::steady_clock::now();
    const GgufModel model = load_gguf_model(c.model, "auto", "");
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.name == "smollm2") std::cout << "SmolLM2 GGUF loaded in " << load_seconds << " s\n";
    const HfModelConfig& config = model.config;
    const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f32};
    ForwardPass forward(config, model.weights, kv);
    const boost::json::object reference = read_json(c.reference);
    for (const auto& prompt_value : reference.at("prompts").as_array()) {
      const auto& prompt = prompt_value.as_object();
      const std::vector<int32_t> ids = numbers<int32_t>(prompt.at("input_ids"));
      std::vector<std::vector<std::byte>> storage((ids.size() + kTokensPerBlock - 1) / kTokensPerBlock,
                                                  std::vector<std::byte>(kv.block_bytes()));
      std::vector<void*> blocks;
      for (auto& block : storage) blocks.push_back(block.data());
      const std::vector<float> logits = forward.run(std::vector<SequenceChunk>{{ids, 0, blocks, true}}, pool);
      REQUIRE(logits.size() == config.vocab_size);
      std::vector<int32_t> checked;
      std::vector<double> expected;
      if (prompt.contains("last_logits")) {
        expected = numbers<double>(prompt.at("last_logits"));
        for (size_t i = 0; i < expected.size(); ++i) checked.push_back(static_cast<int32_t>(i));
      } else {
        checked = numbers<int32_t>(prompt.at("top_ids"));
        expected = numbers<double>(prompt.at("top_logits"));
      }
      REQUIRE(checked.size() == expected.size());
      double worst = 0.0;
      for (size_t i = 0; i < checked.size(); ++i) worst = std::max(worst, std::abs(logits[checked[i]] - expected[i]));
      INFO("prompt " << prompt.at("text").as_string().c_str() << ": max |logit - reference| " << worst);
      CHECK(worst < 1e-2);
    }
  }
}

TEST_CASE("GGUF models: 32 greedy tokens through the plugin ABI equal transformers'", "[llm][gguf]") {
  for (const GgufCase& c : gguf_cases()) {
    INFO("model " << c.name);
    const boost::json::object reference = read_json(c.reference);
    const auto& prompts = reference.at("prompts").as_array();
    const int64_t steps = reference.at("steps").to_number<int64_t>();
    citadel::test::PluginHarness plugin(c.model.string(), R"({"kv_cache_dtype": "f32"})");
    REQUIRE(plugin.create_status() == CITADEL_OK);
    for (size_t i = 0; i < prompts.size(); ++i) {
      REQUIRE(plugin.open(i + 1, greedy_input(numbers<int32_t>(prompts[i].at("input_ids")), steps)) == CITADEL_OK);
    }
    const auto results = plugin.run(/*batched=*/true, /*chunk=*/7);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i);
      CHECK(results.at(i + 1).tokens == numbers<int32_t>(prompts[i].at("greedy_ids")));
    }
  }
}
