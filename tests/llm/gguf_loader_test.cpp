// The GGUF side of llm-gptq: hyper-parameters from the committed random GGUF
// files (tools/make_gguf_models.py wrote them from the specs repeated here),
// llama.cpp's Q/K row order, metadata errors that name the file and key, and
// the plugin serving a .gguf `weights:` path (prompt and chat requests).
#include "gguf_config.h"
#include "gguf_model.h"
#include "gguf_weights.h"
#include "forward.h"
#include "plugin_harness.hpp"

#include "runtime/core/error.h"
#include "runtime/core/thread_pool.h"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

namespace fs = std::filesystem;
using namespace citadel::llm;
using Catch::Matchers::Contains;

namespace {

fs::path test_model(const std::string& name) {
  return citadel::test::source_dir() / "tests/data/gguf" / name / "model.gguf";
}

// A GGUF file with string and u32 metadata only (no tensors).
std::string metadata_only_file(const std::vector<std::pair<std::string, std::string>>& strings,
                               const std::vector<std::pair<std::string, uint32_t>>& numbers) {
  std::string out;
  auto put = [&](auto value) { out.append(reinterpret_cast<const char*>(&value), sizeof(value)); };
  auto put_string = [&](const std::string& text) {
    put(static_cast<uint64_t>(text.size()));
    out += text;
  };
  put(uint32_t{0x46554747});
  put(uint32_t{3});
  put(uint64_t{0});
  put(static_cast<uint64_t>(strings.size() + numbers.size()));
  for (const auto& [key, value] : strings) {
    put_string(key);
    put(uint32_t{8});
    put_string(value);
  }
  for (const auto& [key, value] : numbers) {
    put_string(key);
    put(uint32_t{4});
    put(value);
  }
  return out;
}

}  // namespace

TEST_CASE("GGUF hyper-parameters come from the <arch>.* keys", "[llm][gguf]") {
  const citadel::runtime::GgufFile llama(test_model("llama-gguf"));
  const HfModelConfig a = gguf_model_config(llama);
  CHECK(a.model_type == "llama");
  CHECK((a.num_layers == 2 && a.hidden_size == 256 && a.intermediate_size == 512));
  CHECK((a.num_heads == 4 && a.num_kv_heads == 2 && a.head_dim == 64));
  CHECK(a.rope.theta == 500000.0);
  CHECK(a.max_position_embeddings == 4096);
  CHECK(a.rms_norm_eps == Approx(1e-6));
  CHECK_FALSE(a.tie_word_embeddings);
  CHECK_FALSE(a.attention_bias);

  const HfModelConfig b = gguf_model_config(citadel::runtime::GgufFile(test_model("qwen2-gguf")));
  CHECK(b.model_type == "qwen2");
  CHECK(b.attention_bias);
  CHECK(b.tie_word_embeddings);
  CHECK_FALSE(b.qk_norm);

  const citadel::runtime::GgufFile qwen3(test_model("qwen3-gguf"));
  const HfModelConfig c = gguf_model_config(qwen3);
  CHECK(c.qk_norm);
  CHECK(c.head_dim == 128);  // attention.key_length, not hidden / heads
  CHECK(a.vocab_size == static_cast<uint32_t>(llama.tensor("token_embd.weight").rows()));
  CHECK(c.vocab_size == static_cast<uint32_t>(qwen3.tensor("token_embd.weight").rows()));
}

TEST_CASE("llama.cpp's interleaved Q/K rows map back to Hugging Face order", "[llm][gguf]") {
  // One head of size 4: HF rows (pair halves) 0,1 | 2,3 are stored as 0,2,1,3.
  CHECK(llama_rope_row_order(1, 4) == std::vector<int32_t>{0, 2, 1, 3});
  CHECK(llama_rope_row_order(2, 4) == std::vector<int32_t>{0, 2, 1, 3, 4, 6, 5, 7});
}

TEST_CASE("GGUF metadata errors name the file and the key", "[llm][gguf]") {
  citadel::test::TempDir dir;
  const fs::path gemma = dir.write("gemma.gguf", metadata_only_file({{"general.architecture", "gemma"}}, {}));
  CHECK_THROWS_WITH(gguf_model_config(citadel::runtime::GgufFile(gemma)),
                    Contains(gemma.string()) && Contains("'general.architecture' is 'gemma'"));
  const fs::path partial = dir.write("partial.gguf", metadata_only_file({{"general.architecture", "llama"}},
                                                                        {{"llama.embedding_length", 64}}));
  CHECK_THROWS_WITH(gguf_model_config(citadel::runtime::GgufFile(partial)),
                    Contains(partial.string()) && Contains("'llama.block_count' is missing"));
  const fs::path zero = dir.write("zero.gguf", metadata_only_file({{"general.architecture", "qwen2"}},
                                                                  {{"qwen2.block_count", 0}}));
  CHECK_THROWS_WITH(gguf_model_config(citadel::runtime::GgufFile(zero)), Contains("'qwen2.block_count' must be a positive"));
}

TEST_CASE("the plugin serves a .gguf weights path: prompts and chat messages", "[llm][gguf]") {
  for (const char* name : {"llama-gguf", "qwen2-gguf"}) {
    INFO(name);
    citadel::test::PluginHarness plugin(test_model(name).string());
    REQUIRE(plugin.create_status() == CITADEL_OK);
    CHECK(std::string(plugin.info().model_version).find("gguf") != std::string::npos);
    REQUIRE(plugin.open(1, R"({"prompt": "Hello there", "max_tokens": 3, "temperature": 0})") == CITADEL_OK);
    REQUIRE(plugin.open(2, R"({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3})") == CITADEL_OK);
    CHECK(plugin.prompt_ids(2).size() > plugin.prompt_ids(1).size());
    const auto results = plugin.run(/*batched=*/true, /*chunk=*/16);
    CHECK(results.at(1).tokens.size() == 3);
    CHECK(results.at(2).tokens.size() <= 3);
  }
}

TEST_CASE("a .gguf that is not a GGUF file fails model creation with its path", "[llm][gguf]") {
  citadel::test::TempDir dir;
  const fs::path bad = dir.write("broken.gguf", "not gguf at all");
  citadel::test::PluginHarness plugin(bad.string());
  CHECK(plugin.create_status() == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK(plugin.create_error().find(bad.string()) != std::string::npos);
}
