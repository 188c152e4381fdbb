// One request's generation state, fed with made-up logits: stop token ids,
// max_tokens, stop strings cut from the streamed text, UTF-8 held back until
// complete, padded vocabulary without text, seeded sampling reproducible.
#include "generation.h"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace citadel::llm;

namespace {

const citadel::runtime::Tokenizer& tokenizer() {
  static const citadel::runtime::Tokenizer instance = citadel::runtime::Tokenizer::from_file(
      citadel::test::source_dir() / "tests/data/tokenizer/gpt2/tokenizer.json");
  return instance;
}

citadel::runtime::SamplingParams greedy() {
  citadel::runtime::SamplingParams params;
  params.temperature = 0.0f;
  return params;
}

std::vector<float> peaked_at(int32_t id, size_t vocab) {
  std::vector<float> logits(vocab, 0.0f);
  logits[static_cast<size_t>(id)] = 10.0f;
  return logits;
}

int32_t id_of(const std::string& token) {
  auto id = tokenizer().token_to_id(token);
  REQUIRE(id.has_value());
  return *id;
}

}  // namespace

TEST_CASE("a stop token ends the request without adding its text", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  const int32_t hello = id_of("the"), stop = id_of("!");
  GenerationLimits limits{10, {stop}, {}, vocab};
  Generation generation({hello}, greedy(), limits, tokenizer());
  auto logits = peaked_at(hello, vocab);
  TokenOutcome first = generation.sample_next(logits);
  CHECK(first.token == hello);
  CHECK(first.text == "the");
  CHECK_FALSE(first.finished);
  logits = peaked_at(stop, vocab);
  TokenOutcome second = generation.sample_next(logits);
  CHECK(second.token == stop);
  CHECK(second.finished);
  CHECK(second.reason == CITADEL_FINISH_STOP);
  CHECK(second.text.empty());
  CHECK(generation.sequence() == std::vector<int32_t>{hello, hello, stop});
}

TEST_CASE("max_tokens ends the request with reason length", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  const int32_t a = id_of("a");
  Generation generation({a}, greedy(), GenerationLimits{3, {}, {}, vocab}, tokenizer());
  for (int i = 0; i < 3; ++i) {
    auto logits = peaked_at(a, vocab);
    const TokenOutcome outcome = generation.sample_next(logits);
    CHECK(outcome.finished == (i == 2));
  }
  CHECK(generation.finish_reason() == CITADEL_FINISH_LENGTH);
  CHECK(generation.generated_tokens() == 3);
}

TEST_CASE("a stop string ends the request and is cut from the text", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  const std::vector<int32_t> script{id_of("the"), id_of("Ġand"), id_of("Ġthe"), id_of("Ġrespect")};
  Generation generation({script[0]}, greedy(), GenerationLimits{10, {}, {"d th"}, vocab}, tokenizer());
  std::string text;
  TokenOutcome outcome;
  for (int32_t token : script) {
    auto logits = peaked_at(token, vocab);
    outcome = generation.sample_next(logits);
    text += outcome.text;
    if (outcome.finished) break;
  }
  CHECK(outcome.finished);
  CHECK(outcome.reason == CITADEL_FINISH_STOP);
  CHECK(text == "the an");
}

TEST_CASE("a character split over tokens is emitted only when complete", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  // "é" is bytes C3 A9; byte-level BPE spells them "Ã" and "©".
  const int32_t first = id_of("Ã"), second = id_of("©");
  Generation generation({first}, greedy(), GenerationLimits{5, {}, {}, vocab}, tokenizer());
  auto logits = peaked_at(first, vocab);
  CHECK(generation.sample_next(logits).text.empty());
  logits = peaked_at(second, vocab);
  CHECK(generation.sample_next(logits).text == "\xC3\xA9");
}

TEST_CASE("ids beyond the tokenizer's vocabulary are sampled as transformers does, without text", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  const int32_t a = id_of("a");
  Generation generation({a}, greedy(), GenerationLimits{5, {}, {}, vocab}, tokenizer());
  std::vector<float> logits(vocab + 64, 0.0f);
  logits[vocab + 3] = 50.0f;  // a padded row of lm_head
  logits[static_cast<size_t>(a)] = 1.0f;
  const TokenOutcome padded = generation.sample_next(logits);
  CHECK(padded.token == static_cast<int32_t>(vocab + 3));
  CHECK(padded.text.empty());
  CHECK_FALSE(padded.finished);
  std::vector<float> next(vocab + 64, 0.0f);
  next[static_cast<size_t>(a)] = 1.0f;
  CHECK(generation.sample_next(next).text == "a");
}

TEST_CASE("seeded sampling repeats itself", "[llm]") {
  const size_t vocab = tokenizer().vocab_size();
  citadel::runtime::SamplingParams params;
  params.temperature = 1.0f;
  params.seed = 99;
  auto run = [&](uint64_t seed) {
    params.seed = seed;
    Generation generation({1}, params, GenerationLimits{20, {}, {}, vocab}, tokenizer());
    std::vector<int32_t> tokens;
    for (int i = 0; i < 20; ++i) {
      std::vector<float> logits(vocab, 0.0f);
      for (int32_t id = 0; id < 50; ++id) logits[static_cast<size_t>(id)] = 20.0f;  // 50 likely tokens
      tokens.push_back(generation.sample_next(logits).token);
    }
    return tokens;
  };
  const std::vector<int32_t> first = run(99);
  CHECK(run(99) == first);
  CHECK(run(100) != first);
  for (int32_t token : first) CHECK(token < 50);
}
