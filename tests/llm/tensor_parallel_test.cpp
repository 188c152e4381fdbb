// Tensor parallelism of llm-gptq on the CPU (ranks as threads, sums through
// runtime::ThreadAllReduce): TensorParallelForward over 2 and 4 ranks gives
// the logits of the whole model's ForwardPass and the same greedy tokens,
// for GPTQ and dense Llama / Qwen2 / Qwen3 shapes, with the other ranks'
// K/V found by block id (a shared prefix block included); the real plugin
// generates the same greedy text with tensor_parallel_size 2 as with 1,
// declares rank 0's share of the cache and CITADEL_CACHE_NO_SWAP, and
// refuses what cannot be split, naming the option and the cause.
#include "forward.h"
#include "random_model.h"
#include "relative_difference.hpp"
#include "small_config.hpp"
#include "tensor_parallel_forward.h"
#include "tensor_shards.h"

#include "plugin_harness.hpp"

#include "runtime/core/thread_pool.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using namespace citadel::llm;
using citadel::test::PluginHarness;
using Catch::Matchers::Contains;

using citadel::test::max_relative_difference;

namespace {

constexpr uint32_t kVocab = 96;

// Cache blocks in plain memory with the ids a host would give them.
class Blocks {
 public:
  Blocks(const KvGeometry& kv, size_t count, uint32_t first_id) {
    for (size_t i = 0; i < count; ++i) {
      storage_.emplace_back(kv.block_bytes(), std::byte{0});
      addresses_.push_back(storage_.back().data());
      ids_.push_back(first_id + static_cast<uint32_t>(i));
    }
  }
  std::span<void* const> addresses() const { return addresses_; }
  std::span<const uint32_t> ids() const { return ids_; }

 private:
  std::vector<std::vector<std::byte>> storage_;
  std::vector<void*> addresses_;
  std::vector<uint32_t> ids_;
};

SequenceChunk chunk_of(std::span<const int32_t> tokens, uint32_t first, const Blocks& blocks, bool logits) {
  SequenceChunk chunk;
  chunk.tokens = tokens;
  chunk.first_position = first;
  chunk.blocks = blocks.addresses();
  chunk.block_ids = blocks.ids();
  chunk.want_logits = logits;
  return chunk;
}

std::vector<int32_t> token_run(size_t count, int32_t start) {
  std::vector<int32_t> tokens(count);
  for (size_t i = 0; i < count; ++i) tokens[i] = (start + static_cast<int32_t>(i) * 7) % static_cast<int32_t>(kVocab);
  return tokens;
}


int32_t argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// The ordinary pass and a tensor-parallel one over the same random model.
struct Models {
  Models(const HfModelConfig& config, int ranks)
      : checkpoint(make_random_checkpoint(config, 11)),
        weights(load_model_weights(checkpoint.config, checkpoint.finder(), "random")),
        kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f32},
        whole(checkpoint.config, weights, kv),
        parallel(checkpoint.config, checkpoint.finder(), "random", citadel::runtime::DType::f32,
                 TensorParallelPlacement{.ranks = ranks, .cuda_devices = {}, .rank0_stream = nullptr,
                                         .cpu_threads_per_rank = 1}),
        pool(1) {}
  InMemoryCheckpoint checkpoint;
  ModelWeights weights;
  KvGeometry kv;
  ForwardPass whole;
  TensorParallelForward parallel;
  citadel::runtime::ThreadPool pool;
};

std::string test_model(const char* name) {
  const auto path = citadel::test::source_dir() / "tests/data/llm" / name;
  REQUIRE(std::filesystem::exists(path / "config.json"));
  return path.string();
}

}  // namespace

TEST_CASE("tensor-parallel CPU ranks give the whole model's logits and greedy tokens", "[llm][tensor_parallel]") {
  const bool quantized = GENERATE(true, false);
  const std::string type = GENERATE(std::string("llama"), std::string("qwen2"), std::string("qwen3"));
  const int ranks = GENERATE(2, 4);
  HfModelConfig config = citadel::test::small_llm_config(type, kVocab, quantized);
  if (ranks == 4) {  // 4 KV heads, and GPTQ row shards of one group (32 inputs)
    config.num_heads = 8;
    config.num_kv_heads = 4;
    config.head_dim = 16;
  }
  CAPTURE(type, quantized, ranks);
  Models models(config, ranks);
  CHECK(models.parallel.rank_kv().num_kv_heads == config.num_kv_heads / static_cast<uint32_t>(ranks));

  // Two prompts prefilled in one step, then greedy decode steps of both.
  std::vector<int32_t> a = token_run(19, 3), b = token_run(7, 40);
  Blocks whole_a(models.kv, 3, 0), whole_b(models.kv, 3, 3);
  Blocks rank0_a(models.parallel.rank_kv(), 3, 0), rank0_b(models.parallel.rank_kv(), 3, 3);
  for (int step = 0; step < 6; ++step) {
    const uint32_t first_a = step == 0 ? 0 : static_cast<uint32_t>(a.size() - 1);
    const uint32_t first_b = step == 0 ? 0 : static_cast<uint32_t>(b.size() - 1);
    const auto tail_a = std::span<const int32_t>(a).subspan(first_a);
    const auto tail_b = std::span<const int32_t>(b).subspan(first_b);
    const std::vector<float> expected = models.whole.run(
        std::vector<SequenceChunk>{chunk_of(tail_a, first_a, whole_a, true), chunk_of(tail_b, first_b, whole_b, true)},
        models.pool);
    const std::vector<float> got = models.parallel.run(
        std::vector<SequenceChunk>{chunk_of(tail_a, first_a, rank0_a, true), chunk_of(tail_b, first_b, rank0_b, true)});
    REQUIRE(got.size() == 2 * kVocab);
    CAPTURE(step);
    CHECK(max_relative_difference(got, expected) < 1e-4);
    const int32_t next_a = argmax(std::span<const float>(expected).first(kVocab));
    const int32_t next_b = argmax(std::span<const float>(expected).subspan(kVocab));
    CHECK(argmax(std::span<const float>(got).first(kVocab)) == next_a);
    CHECK(argmax(std::span<const float>(got).subspan(kVocab)) == next_b);
    a.push_back(next_a);
    b.push_back(next_b);
  }
  CHECK(models.parallel.rank_kv_bytes() > 0);  // ranks 1.. keep their K/V by block id
}

TEST_CASE("a tensor-parallel sequence starting from a shared prefix block reads every rank's share of it",
          "[llm][tensor_parallel]") {
  Models models(citadel::test::small_llm_config("llama", kVocab, true), 2);
  const KvGeometry& rank_kv = models.parallel.rank_kv();
  std::vector<int32_t> first = token_run(20, 2);
  std::vector<int32_t> second(first.begin(), first.begin() + 16);
  for (int32_t t : token_run(9, 50)) second.push_back(t);
  Blocks first_blocks(rank_kv, 2, 10), second_blocks(rank_kv, 2, 12), full_blocks(rank_kv, 2, 14);
  models.parallel.run(std::vector<SequenceChunk>{chunk_of(first, 0, first_blocks, true)});
  // The second request reuses the first's block 0 (id 10) and computes its tail.
  const std::vector<void*> shared_addresses{first_blocks.addresses()[0], second_blocks.addresses()[1]};
  const std::vector<uint32_t> shared_ids{first_blocks.ids()[0], second_blocks.ids()[1]};
  SequenceChunk tail = chunk_of(std::span<const int32_t>(second).subspan(16), 16, second_blocks, true);
  tail.blocks = shared_addresses;
  tail.block_ids = shared_ids;
  const std::vector<float> from_prefix = models.parallel.run(std::vector<SequenceChunk>{tail});
  const std::vector<float> full =
      models.parallel.run(std::vector<SequenceChunk>{chunk_of(second, 0, full_blocks, true)});
  CHECK(max_relative_difference(from_prefix, full) < 1e-4);
}

TEST_CASE("a tensor-parallel step without block ids is refused", "[llm][tensor_parallel]") {
  Models models(citadel::test::small_llm_config("llama", kVocab, false), 2);
  Blocks blocks(models.parallel.rank_kv(), 1, 0);
  const std::vector<int32_t> prompt = token_run(5, 1);
  SequenceChunk chunk = chunk_of(prompt, 0, blocks, true);
  chunk.block_ids = {};
  CHECK_THROWS_WITH(models.parallel.run(std::vector<SequenceChunk>{chunk}), Contains("block ids"));
  // The group was reset: the next step runs.
  chunk.block_ids = blocks.ids();
  CHECK(models.parallel.run(std::vector<SequenceChunk>{chunk}).size() == kVocab);
}

TEST_CASE("llm-gptq with tensor_parallel_size 2 generates the greedy text of one rank", "[llm][tensor_parallel]") {
  const char* name = GENERATE("qwen2-gptq", "llama-fp16", "llama-rtn-g-1");
  CAPTURE(name);
  const std::string first =
      R"({"prompt": "tensor parallel ranks", "max_tokens": 12, "temperature": 0, "ignore_eos": true})";
  const std::string second = R"({"prompt": "a second prompt, longer than the first one", "max_tokens": 12, )"
                             R"("temperature": 0, "ignore_eos": true})";
  std::map<uint64_t, citadel::test::GeneratedText> expected, got;
  uint64_t one_rank_bytes = 0;
  {
    PluginHarness one(test_model(name));
    REQUIRE(one.create_status() == CITADEL_OK);
    one_rank_bytes = one.info().bytes_per_token_per_layer;
    CHECK((one.info().cache_flags & CITADEL_CACHE_NO_SWAP) == 0);
    REQUIRE(one.open(1, first) == CITADEL_OK);
    REQUIRE(one.open(2, second) == CITADEL_OK);
    expected = one.run(/*batched=*/true, /*chunk=*/5);
  }
  PluginHarness two(test_model(name), R"({"tensor_parallel_size": 2})");
  REQUIRE(two.create_status() == CITADEL_OK);
  CHECK(two.info().bytes_per_token_per_layer * 2 == one_rank_bytes);  // the host's blocks hold rank 0's share
  CHECK((two.info().cache_flags & CITADEL_CACHE_NO_SWAP) != 0);
  REQUIRE(two.open(1, first) == CITADEL_OK);
  REQUIRE(two.open(2, second) == CITADEL_OK);
  got = two.run(/*batched=*/true, /*chunk=*/5);
  REQUIRE(got.size() == 2);
  for (uint64_t id : {1u, 2u}) {
    CHECK(got[id].error.empty());
    CHECK(got[id].tokens.size() == 12);
    CHECK(got[id].tokens == expected[id].tokens);
  }
}

TEST_CASE("llm-gptq refuses tensor parallelism it cannot do, naming the option and the cause",
          "[llm][tensor_parallel]") {
  PluginHarness heads(test_model("qwen2-gptq"), R"({"tensor_parallel_size": 3})");
  CHECK(heads.create_status() != CITADEL_OK);
  CHECK_THAT(heads.create_error(), Contains("tensor_parallel_size") && Contains("num_heads"));

  PluginHarness act_order(test_model("llama3-gptq"), R"({"tensor_parallel_size": 2})");  // desc_act true
  CHECK(act_order.create_status() != CITADEL_OK);
  CHECK_THAT(act_order.create_error(), Contains("tensor_parallel_size") && Contains("act-order"));

  PluginHarness groups(test_model("qwen3-gptq"), R"({"tensor_parallel_size": 2})");  // down: 192 inputs, group 128
  CHECK(groups.create_status() != CITADEL_OK);
  CHECK_THAT(groups.create_error(), Contains("intermediate_size"));

  PluginHarness devices(test_model("qwen2-gptq"),
                        R"({"tensor_parallel_size": 2, "tensor_parallel_devices": [1, 2]})");
  CHECK(devices.create_status() != CITADEL_OK);
  CHECK_THAT(devices.create_error(), Contains("tensor_parallel_devices") && Contains("needs 1"));

  PluginHarness ordinal(test_model("qwen2-gptq"),
                        R"({"tensor_parallel_size": 2, "tensor_parallel_devices": ["gpu1"]})");
  CHECK_THAT(ordinal.create_error(), Contains("tensor_parallel_devices") && Contains("gpu1"));

  PluginHarness offload(test_model("qwen2-gptq"), R"({"tensor_parallel_size": 2, "gpu_layers": 1})");
  CHECK_THAT(offload.create_error(), Contains("tensor_parallel_size") && Contains("gpu_layers"));

  PluginHarness zero(test_model("qwen2-gptq"), R"({"tensor_parallel_size": 0})");
  CHECK_THAT(zero.create_error(), Contains("tensor_parallel_size") && Contains("1 to 16"));
}
