// The forward pass on random-weight models: a batch of sequences gives the
// same logits as each sequence alone, and a prefill split into chunks gives
// the same logits as one-shot prefill, for GPTQ and dense, Llama and Qwen3.
#include "forward.h"
#include "random_model.h"
#include "relative_difference.hpp"
#include "small_config.hpp"

#include "runtime/core/thread_pool.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

using namespace citadel::llm;

using citadel::test::max_relative_difference;

namespace {

HfModelConfig test_config(const std::string& type, bool quantized) {
  return citadel::test::small_llm_config(type, 96, quantized);
}

// One sequence's cache blocks in plain memory.
class SequenceCache {
 public:
  SequenceCache(const KvGeometry& kv, size_t blocks) : storage_(blocks) {
    for (auto& block : storage_) {
      block.assign(kv.block_bytes(), std::byte{0});
      addresses_.push_back(block.data());
    }
  }
  std::span<void* const> blocks() const { return addresses_; }

 private:
  std::vector<std::vector<std::byte>> storage_;
  std::vector<void*> addresses_;
};

std::vector<int32_t> token_run(size_t count, int32_t start) {
  std::vector<int32_t> tokens(count);
  for (size_t i = 0; i < count; ++i) tokens[i] = (start + static_cast<int32_t>(i) * 7) % 96;
  return tokens;
}


struct TestModel {
  explicit TestModel(const HfModelConfig& config)
      : checkpoint(make_random_checkpoint(config, 42)),
        weights(load_model_weights(checkpoint.config, checkpoint.finder(), "random")),
        kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f32},
        forward(checkpoint.config, weights, kv),
        pool(2) {}
  InMemoryCheckpoint checkpoint;
  ModelWeights weights;
  KvGeometry kv;
  ForwardPass forward;
  citadel::runtime::ThreadPool pool;
};

}  // namespace

TEST_CASE("a batch of prefills and decodes gives the logits of each sequence alone", "[llm]") {
  const bool quantized = GENERATE(true, false);
  const std::string type = GENERATE(std::string("llama"), std::string("qwen3"));
  TestModel model(test_config(type, quantized));
  const std::vector<int32_t> a = token_run(5, 3), b = token_run(21, 11);

  // Alone: prefill, then one decode token each.
  SequenceCache cache_a(model.kv, 2), cache_b(model.kv, 2);
  std::vector<float> alone_a = model.forward.run(std::vector<SequenceChunk>{{a, 0, cache_a.blocks(), true}}, model.pool);
  std::vector<float> alone_b = model.forward.run(std::vector<SequenceChunk>{{b, 0, cache_b.blocks(), true}}, model.pool);
  const std::vector<int32_t> next{17};
  std::vector<float> alone_a2 = model.forward.run(std::vector<SequenceChunk>{{next, 5, cache_a.blocks(), true}}, model.pool);

  // Together: both prefills in one step, then a decode of a beside the start of a new prefill.
  SequenceCache batch_a(model.kv, 2), batch_b(model.kv, 2), batch_c(model.kv, 2);
  std::vector<float> together = model.forward.run(
      std::vector<SequenceChunk>{{a, 0, batch_a.blocks(), true}, {b, 0, batch_b.blocks(), true}}, model.pool);
  REQUIRE(together.size() == 2 * 96);
  std::vector<float> together_a(together.begin(), together.begin() + 96);
  std::vector<float> together_b(together.begin() + 96, together.end());
  CHECK(max_relative_difference(together_a, alone_a) < 1e-4);
  CHECK(max_relative_difference(together_b, alone_b) < 1e-4);

  std::vector<float> mixed = model.forward.run(
      std::vector<SequenceChunk>{{b, 0, batch_c.blocks(), false}, {next, 5, batch_a.blocks(), true}}, model.pool);
  CHECK(max_relative_difference(mixed, alone_a2) < 1e-4);
}

TEST_CASE("chunked prefill gives the logits of one-shot prefill", "[llm]") {
  const bool quantized = GENERATE(true, false);
  TestModel model(test_config("llama", quantized));
  const std::vector<int32_t> prompt = token_run(40, 5);
  SequenceCache one_shot(model.kv, 3), chunked(model.kv, 3);
  const std::vector<float> expected =
      model.forward.run(std::vector<SequenceChunk>{{prompt, 0, one_shot.blocks(), true}}, model.pool);
  std::vector<float> last;
  for (uint32_t begin = 0; begin < prompt.size(); begin += 13) {
    const size_t count = std::min<size_t>(13, prompt.size() - begin);
    const bool final_chunk = begin + count == prompt.size();
    last = model.forward.run(
        std::vector<SequenceChunk>{{std::span(prompt).subspan(begin, count), begin, chunked.blocks(), final_chunk}},
        model.pool);
    CHECK(last.size() == (final_chunk ? 96u : 0u));
  }
  CHECK(max_relative_difference(last, expected) < 1e-4);
}

TEST_CASE("positions beyond a sequence's blocks are refused", "[llm]") {
  TestModel model(test_config("llama", true));
  SequenceCache cache(model.kv, 1);
  const std::vector<int32_t> prompt = token_run(17, 1);
  CHECK_THROWS_WITH(model.forward.run(std::vector<SequenceChunk>{{prompt, 0, cache.blocks(), true}}, model.pool),
                    Catch::Matchers::Contains("cache blocks"));
}

TEST_CASE("a sequence starting from a shared cached prefix gives the logits of a full prefill", "[llm]") {
  TestModel model(test_config("llama", true));
  std::vector<int32_t> first = token_run(20, 2);
  std::vector<int32_t> second = first;
  second.resize(16);
  for (int32_t t : token_run(9, 50)) second.push_back(t);  // same 16-token prefix, other tail

  SequenceCache first_cache(model.kv, 2), second_cache(model.kv, 2), full_cache(model.kv, 2);
  model.forward.run(std::vector<SequenceChunk>{{first, 0, first_cache.blocks(), true}}, model.pool);
  // The second request reuses the first's block 0 (positions 0..15) and computes only its tail.
  std::vector<void*> shared{first_cache.blocks()[0], second_cache.blocks()[1]};
  const std::vector<float> from_prefix = model.forward.run(
      std::vector<SequenceChunk>{{std::span(second).subspan(16), 16, shared, true}}, model.pool);
  const std::vector<float> full =
      model.forward.run(std::vector<SequenceChunk>{{second, 0, full_cache.blocks(), true}}, model.pool);
  CHECK(max_relative_difference(from_prefix, full) < 1e-4);
}
