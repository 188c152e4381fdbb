// Tensor-parallel weight shards: which configs split over how many ranks, and
// that the two ranks' shards of every projection reproduce the full
// projection (column-split outputs concatenate, row-split outputs sum) for
// dense and GPTQ Llama, Qwen2 (biases) and Qwen3; act-order GPTQ groups that
// cross ranks are refused, naming the tensor.
#include "random_model.h"
#include "tensor_shards.h"
#include "weights.h"

#include "runtime/core/thread_pool.h"
#include "relative_difference.hpp"
#include "small_config.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace citadel::llm;
using citadel::runtime::DType;
using citadel::runtime::Tensor;
using Catch::Matchers::Contains;

using citadel::test::max_relative_difference;

namespace {

HfModelConfig test_config(const std::string& type, bool quantized) {
  return citadel::test::small_llm_config(type, 96, quantized);
}

std::vector<float> random_values(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = dist(rng);
  return values;
}


std::vector<float> run(const Projection& projection, const std::vector<float>& x, int64_t rows) {
  citadel::runtime::ThreadPool pool(1);
  REQUIRE(x.size() == static_cast<size_t>(rows * projection.in_features()));
  std::vector<float> y(static_cast<size_t>(rows * projection.out_features()));
  projection.forward(pool, x.data(), rows, y.data());
  return y;
}

// Makes the random checkpoint harder to shard by accident: GPTQ scales and
// zeros that differ per column and group, down_proj's g_idx in act-order
// (shuffled within each rank's half of the inputs, as a splittable act-order
// checkpoint has it), a bf16 bias on o_proj and down_proj, and a dense
// gate_proj stored in f32.
void vary(InMemoryCheckpoint& checkpoint) {
  const HfModelConfig& config = checkpoint.config;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> scale(0.005f, 0.03f);
  for (auto& [name, tensor] : checkpoint.tensors) {
    if (name.ends_with(".scales")) {
      std::vector<float> values(static_cast<size_t>(tensor.numel()));
      for (float& value : values) value = scale(rng);
      tensor = Tensor::copy_of(DType::f32, tensor.shape(), values.data()).converted(DType::f16);
    } else if (name.ends_with(".qzeros")) {
      tensor = tensor.clone();
      for (int64_t i = 0; i < tensor.numel(); ++i) tensor.data_as<int32_t>()[i] = static_cast<int32_t>(rng());
    }
  }
  const int64_t hidden = config.hidden_size;
  for (uint32_t layer = 0; layer < config.num_layers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer);
    for (const char* row_split : {".self_attn.o_proj.bias", ".mlp.down_proj.bias"}) {
      const std::vector<float> bias = random_values(static_cast<size_t>(hidden), 100 + layer);
      checkpoint.tensors[prefix + row_split] =
          Tensor::copy_of(DType::f32, {hidden}, bias.data()).converted(DType::bf16);
    }
    if (config.gptq) {
      const int64_t in = config.intermediate_size, half = in / 2;
      const int64_t groups_per_half = half / config.gptq->group_size;
      Tensor g_idx = Tensor::zeros(DType::i32, {in});
      for (int64_t i = 0; i < in; ++i) {
        g_idx.data_as<int32_t>()[i] = static_cast<int32_t>((i / half) * groups_per_half + (i / 3) % groups_per_half);
      }
      checkpoint.tensors[prefix + ".mlp.down_proj.g_idx"] = g_idx;
    } else {
      Tensor& gate = checkpoint.tensors[prefix + ".mlp.gate_proj.weight"];
      gate = gate.to_f32();
    }
  }
}

ModelWeights load_shard(const InMemoryCheckpoint& checkpoint, int rank, int ranks) {
  return load_model_weights(shard_config(checkpoint.config, ranks),
                            shard_finder(checkpoint.finder(), checkpoint.config, rank, ranks), "shard");
}

}  // namespace

TEST_CASE("two ranks halve the heads and the FFN; sizes that do not split are named", "[llm][tensor_parallel]") {
  const HfModelConfig config = test_config("llama", true);
  CHECK_NOTHROW(check_tensor_parallel(config, 1));
  CHECK_NOTHROW(check_tensor_parallel(config, 2));
  const HfModelConfig shard = shard_config(config, 2);
  CHECK(shard.num_heads == 2);
  CHECK(shard.num_kv_heads == 1);
  CHECK(shard.intermediate_size == 64);
  CHECK(shard.head_dim == 16);
  CHECK(shard.hidden_size == 64);
  CHECK(shard.vocab_size == 96);
  CHECK(shard.num_layers == 2);
  REQUIRE(shard.gptq);
  CHECK(shard.gptq->group_size == 32);

  CHECK_THROWS_WITH(check_tensor_parallel(config, 3), Contains("num_heads"));
  CHECK_THROWS_WITH(shard_config(config, 3), Contains("num_heads"));
  CHECK_THROWS_WITH(check_tensor_parallel(config, 0), Contains("at least 1"));
  CHECK_THROWS_WITH(check_tensor_parallel(config, 4), Contains("num_kv_heads"));  // 4 heads, 2 KV heads
  const TensorFinder nothing = [](const std::string&) { return Tensor{}; };
  CHECK_THROWS_WITH(shard_finder(nothing, config, 2, 2), Contains("rank 2"));

  // down_proj's 96 / 2 = 48 input rows per rank are not whole groups of 32.
  HfModelConfig odd_ffn = config;
  odd_ffn.intermediate_size = 96;
  CHECK_THROWS_WITH(check_tensor_parallel(odd_ffn, 2), Contains("intermediate_size") && Contains("group_size"));
  odd_ffn.gptq.reset();
  CHECK_NOTHROW(check_tensor_parallel(odd_ffn, 2));  // dense: no groups
  // 136 / 2 = 68 output columns per rank do not fill whole int32 words of eight 4-bit values.
  HfModelConfig odd_pack = config;
  odd_pack.intermediate_size = 136;
  odd_pack.gptq->group_size = -1;
  CHECK_THROWS_WITH(check_tensor_parallel(odd_pack, 2), Contains("intermediate_size") && Contains("packing"));
  odd_pack.intermediate_size = 144;
  CHECK_NOTHROW(check_tensor_parallel(odd_pack, 2));  // group_size -1: one group, no row constraint
}

TEST_CASE("the ranks' shards concatenate column-split outputs and sum row-split outputs", "[llm][tensor_parallel]") {
  const std::string type = GENERATE(as<std::string>{}, "llama", "qwen2", "qwen3");
  const bool quantized = GENERATE(true, false);
  CAPTURE(type, quantized);
  InMemoryCheckpoint checkpoint = make_random_checkpoint(test_config(type, quantized), 7);
  vary(checkpoint);
  const HfModelConfig& config = checkpoint.config;
  const ModelWeights full = load_model_weights(config, checkpoint.finder(), "full");
  const ModelWeights shards[2] = {load_shard(checkpoint, 0, 2), load_shard(checkpoint, 1, 2)};
  const int64_t rows = 3;

  for (size_t layer = 0; layer < full.layers.size(); ++layer) {
    CAPTURE(layer);
    for (Projection LayerWeights::*member :
         {&LayerWeights::q, &LayerWeights::k, &LayerWeights::v, &LayerWeights::gate, &LayerWeights::up}) {
      const Projection& whole = full.layers[layer].*member;
      CAPTURE(whole.name());
      CHECK(whole.quantized() == quantized);
      const bool attention = member != &LayerWeights::gate && member != &LayerWeights::up;
      CHECK(whole.bias().defined() == (config.attention_bias && attention));
      const std::vector<float> x = random_values(static_cast<size_t>(rows * whole.in_features()), 5);
      const std::vector<float> expected = run(whole, x, rows);
      std::vector<float> joined(expected.size());
      const int64_t part = whole.out_features() / 2;
      for (int rank = 0; rank < 2; ++rank) {
        const Projection& shard = shards[rank].layers[layer].*member;
        REQUIRE(shard.in_features() == whole.in_features());
        REQUIRE(shard.out_features() == part);
        CHECK(shard.bias().defined() == whole.bias().defined());
        const std::vector<float> y = run(shard, x, rows);
        for (int64_t r = 0; r < rows; ++r) {
          std::copy_n(y.begin() + r * part, part, joined.begin() + r * whole.out_features() + rank * part);
        }
      }
      CHECK(max_relative_difference(joined, expected) <= 1e-6);
    }
    for (Projection LayerWeights::*member : {&LayerWeights::o, &LayerWeights::down}) {
      const Projection& whole = full.layers[layer].*member;
      CAPTURE(whole.name());
      const std::vector<float> x = random_values(static_cast<size_t>(rows * whole.in_features()), 6);
      const std::vector<float> expected = run(whole, x, rows);
      std::vector<float> sum(expected.size(), 0.0f);
      const int64_t part = whole.in_features() / 2;
      for (int rank = 0; rank < 2; ++rank) {
        const Projection& shard = shards[rank].layers[layer].*member;
        REQUIRE(shard.in_features() == part);
        REQUIRE(shard.out_features() == whole.out_features());
        CHECK(shard.bias().defined() == (rank == 0));
        std::vector<float> x_part(static_cast<size_t>(rows * part));
        for (int64_t r = 0; r < rows; ++r) {
          std::copy_n(x.begin() + r * whole.in_features() + rank * part, part, x_part.begin() + r * part);
        }
        const std::vector<float> y = run(shard, x_part, rows);
        for (size_t i = 0; i < y.size(); ++i) sum[i] += y[i];
      }
      CHECK(max_relative_difference(sum, expected) <= 1e-5);
    }
  }
}

TEST_CASE("a shard holds exactly its slice of each tensor and shares the rest", "[llm][tensor_parallel]") {
  const InMemoryCheckpoint gptq = make_random_checkpoint(test_config("llama", true), 7);
  const TensorFinder rank1 = shard_finder(gptq.finder(), gptq.config, 1, 2);
  // q_proj (64 -> 64): qzeros [2 groups, 8 words] -> words 4..7 of each group.
  const Tensor qzeros = gptq.tensors.at("model.layers.0.self_attn.q_proj.qzeros");
  const Tensor qzeros1 = rank1("model.layers.0.self_attn.q_proj.qzeros");
  REQUIRE(qzeros1.shape() == citadel::runtime::Shape{2, 4});
  for (int64_t g = 0; g < 2; ++g) {
    for (int64_t w = 0; w < 4; ++w) CHECK(qzeros1.data_as<int32_t>()[g * 4 + w] == qzeros.data_as<int32_t>()[g * 8 + 4 + w]);
  }
  // o_proj (64 -> 64, group 32): rank 1 has input rows 32..63 = qweight rows 4..7, group 1, g_idx 1 -> 0.
  const Tensor qweight = gptq.tensors.at("model.layers.0.self_attn.o_proj.qweight");
  const Tensor qweight1 = rank1("model.layers.0.self_attn.o_proj.qweight");
  REQUIRE(qweight1.shape() == citadel::runtime::Shape{4, 64});
  CHECK(std::memcmp(qweight1.data(), qweight.data_as<int32_t>() + 4 * 64, qweight1.nbytes()) == 0);
  const Tensor scales1 = rank1("model.layers.0.self_attn.o_proj.scales");
  REQUIRE(scales1.shape() == citadel::runtime::Shape{1, 64});
  CHECK(std::memcmp(scales1.data(), gptq.tensors.at("model.layers.0.self_attn.o_proj.scales").data_as<uint16_t>() + 64,
                    scales1.nbytes()) == 0);
  const Tensor g_idx1 = rank1("model.layers.0.self_attn.o_proj.g_idx");
  REQUIRE(g_idx1.shape() == citadel::runtime::Shape{32});
  CHECK(std::all_of(g_idx1.data_as<int32_t>(), g_idx1.data_as<int32_t>() + 32, [](int32_t g) { return g == 0; }));
  CHECK(rank1("model.layers.0.self_attn.q_proj.g_idx").data() ==
        gptq.tensors.at("model.layers.0.self_attn.q_proj.g_idx").data());
  CHECK_FALSE(rank1("model.layers.0.self_attn.o_proj.bias").defined());  // none in the checkpoint

  const InMemoryCheckpoint dense = make_random_checkpoint(test_config("qwen2", false), 7);
  const TensorFinder dense1 = shard_finder(dense.finder(), dense.config, 1, 2);
  // k_proj.bias [32] -> elements 16..31; down_proj.weight [64, 128] -> columns 64..127.
  const Tensor k_bias = dense.tensors.at("model.layers.1.self_attn.k_proj.bias");
  const Tensor k_bias1 = dense1("model.layers.1.self_attn.k_proj.bias");
  REQUIRE(k_bias1.shape() == citadel::runtime::Shape{16});
  CHECK(std::memcmp(k_bias1.data(), k_bias.data_as<uint16_t>() + 16, k_bias1.nbytes()) == 0);
  const Tensor down = dense.tensors.at("model.layers.1.mlp.down_proj.weight");
  const Tensor down1 = dense1("model.layers.1.mlp.down_proj.weight");
  REQUIRE(down1.shape() == citadel::runtime::Shape{64, 64});
  CHECK(down1.dtype() == DType::f16);
  CHECK(std::memcmp(down1.data_as<uint16_t>() + 63 * 64, down.data_as<uint16_t>() + 63 * 128 + 64, 64 * 2) == 0);
  // Shared tensors are the checkpoint's own; missing ones stay missing.
  for (const char* name : {"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
                           "model.layers.0.input_layernorm.weight"}) {
    CHECK(dense1(name).data() == dense.tensors.at(name).data());
  }
  CHECK_FALSE(dense1("model.layers.0.self_attn.q_proj.qweight").defined());
  // A full tensor of the wrong shape is named before it is sliced.
  InMemoryCheckpoint wrong = dense;
  wrong.tensors["model.layers.0.self_attn.q_proj.weight"] = Tensor::zeros(DType::f16, {60, 64});
  CHECK_THROWS_WITH(shard_finder(wrong.finder(), wrong.config, 0, 2)("model.layers.0.self_attn.q_proj.weight"),
                    Contains("model.layers.0.self_attn.q_proj.weight") && Contains("[60, 64]"));
}

TEST_CASE("act-order GPTQ groups that cross ranks are refused, naming the tensor", "[llm][tensor_parallel]") {
  InMemoryCheckpoint checkpoint = make_random_checkpoint(test_config("llama", true), 7);
  const std::string name = "model.layers.1.self_attn.o_proj.g_idx";
  // o_proj has 64 inputs in groups 0 and 1: alternate them, so each half uses both.
  Tensor g_idx = Tensor::zeros(DType::i32, {64});
  for (int32_t i = 0; i < 64; ++i) g_idx.data_as<int32_t>()[i] = i % 2;
  checkpoint.tensors[name] = g_idx;
  CHECK_NOTHROW(load_model_weights(checkpoint.config, checkpoint.finder(), "full"));
  CHECK_NOTHROW(load_shard(checkpoint, 0, 1));  // one rank: nothing is split
  for (int rank = 0; rank < 2; ++rank) {
    const TensorFinder finder = shard_finder(checkpoint.finder(), checkpoint.config, rank, 2);
    CHECK_THROWS_WITH(finder(name), Contains("act-order") && Contains(name));
    CHECK_NOTHROW(finder("model.layers.0.self_attn.o_proj.g_idx"));
  }
  CHECK_THROWS_WITH(load_shard(checkpoint, 1, 2), Contains("act-order") && Contains(name));
}
