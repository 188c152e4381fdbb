// Weight loading: a complete checkpoint loads (from memory and from sharded
// safetensors files); wrong shapes, missing tensors and mismatched
// quantization are errors naming the tensor and the expected shape.
#include "random_model.h"
#include "weights.h"

#include "runtime/formats/safetensors.h"
#include "small_config.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace citadel::llm;
using Catch::Matchers::Contains;

namespace {

HfModelConfig small_config(bool quantized) { return citadel::test::small_llm_config("llama", 100, quantized); }

std::string load_error(const InMemoryCheckpoint& checkpoint) {
  try {
    load_model_weights(checkpoint.config, checkpoint.finder(), "ckpt");
  } catch (const std::exception& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a complete GPTQ checkpoint loads with every projection quantized", "[llm]") {
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 1);
  const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), "ckpt");
  REQUIRE(weights.layers.size() == 2);
  CHECK(weights.layers[1].down.quantized());
  CHECK(weights.layers[1].down.in_features() == 128);
  CHECK(weights.layers[1].down.out_features() == 64);
  CHECK(weights.layers[0].k.out_features() == 32);
  CHECK_FALSE(weights.lm_head.quantized());
  CHECK(weights.lm_head.out_features() == 100);
  CHECK(weights.bytes_per_decode_step() > 100u * 64u * 2u);
}

TEST_CASE("tied embeddings serve as lm_head when the checkpoint has none", "[llm]") {
  HfModelConfig config = small_config(false);
  config.tie_word_embeddings = true;
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 2);
  REQUIRE(checkpoint.tensors.count("lm_head.weight") == 0);
  const ModelWeights weights = load_model_weights(config, checkpoint.finder(), "ckpt");
  CHECK(weights.lm_head.out_features() == 100);
  CHECK(weights.lm_head.in_features() == 64);
}

TEST_CASE("a tensor of the wrong shape is named with expected and actual shape", "[llm]") {
  InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 3);
  checkpoint.tensors["model.layers.1.self_attn.q_proj.qweight"] =
      citadel::runtime::Tensor::zeros(citadel::runtime::DType::i32, {8, 72});
  const std::string error = load_error(checkpoint);
  CHECK_THAT(error, Contains("model.layers.1.self_attn.q_proj.qweight"));
  CHECK_THAT(error, Contains("[8, 72]"));
  CHECK_THAT(error, Contains("expected [8, 64]"));
}

TEST_CASE("a missing tensor is named", "[llm]") {
  InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 4);
  checkpoint.tensors.erase("model.layers.0.mlp.down_proj.scales");
  CHECK_THAT(load_error(checkpoint), Contains("missing tensor 'model.layers.0.mlp.down_proj.scales'"));

  InMemoryCheckpoint dense = make_random_checkpoint(small_config(false), 4);
  dense.tensors.erase("model.layers.1.mlp.up_proj.weight");
  CHECK_THAT(load_error(dense), Contains("model.layers.1.mlp.up_proj.weight"));
}

TEST_CASE("qwen2 projections without their bias are an error naming it", "[llm]") {
  const HfModelConfig config = citadel::test::small_llm_config("qwen2", 100, true);
  InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 5);
  CHECK(load_error(checkpoint) == "no error");
  checkpoint.tensors.erase("model.layers.0.self_attn.v_proj.bias");
  CHECK_THAT(load_error(checkpoint), Contains("model.layers.0.self_attn.v_proj.bias"));
}

TEST_CASE("GPTQ tensors packed for other bits than the config's are rejected", "[llm]") {
  InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 6);
  checkpoint.config.gptq->bits = 8;  // tensors are 4-bit packed
  const std::string error = load_error(checkpoint);
  CHECK_THAT(error, Contains("qweight"));
  CHECK_THAT(error, Contains("expected [16, 64]"));
}

TEST_CASE("GPTQ tensors in a checkpoint whose config is unquantized are an error", "[llm]") {
  InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 7);
  checkpoint.config.gptq.reset();
  CHECK_THAT(load_error(checkpoint), Contains("no quantization_config"));
}

TEST_CASE("a sharded safetensors checkpoint on disk loads like the in-memory one", "[llm]") {
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(small_config(true), 8);
  citadel::test::TempDir dir;
  std::vector<std::pair<std::string, citadel::runtime::Tensor>> shards[2];
  std::string weight_map;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    const int shard = name.find("layers.1") != std::string::npos ? 1 : 0;
    shards[shard].emplace_back(name, tensor);
    weight_map += std::string(weight_map.empty() ? "" : ",") + "\"" + name + "\": \"model-0000" +
                  std::to_string(shard + 1) + "-of-00002.safetensors\"";
  }
  citadel::runtime::write_safetensors(dir.path() / "model-00001-of-00002.safetensors", shards[0]);
  citadel::runtime::write_safetensors(dir.path() / "model-00002-of-00002.safetensors", shards[1]);
  dir.write("model.safetensors.index.json", "{\"metadata\": {}, \"weight_map\": {" + weight_map + "}}");
  const ModelWeights weights = load_checkpoint_weights(checkpoint.config, dir.path().string());
  const ModelWeights expected = load_model_weights(checkpoint.config, checkpoint.finder(), "memory");
  CHECK(weights.layers.size() == 2);
  CHECK(weights.bytes_per_decode_step() == expected.bytes_per_decode_step());
}
