// llm-gptq's logprobs: log-softmax scores and top lists against a direct
// computation, and the prompt positions a step's logits rows report — the
// same entries whatever the prefill chunking, each position once even when a
// preempted request recomputes its prompt.
#include "token_logprobs.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace citadel::llm;

namespace {

std::vector<float> random_logits(size_t count, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> logits(count);
  for (float& value : logits) value = normal(generator);
  return logits;
}

// Every position's scores from chunks of `chunk` rows (all_logits), the way
// LlmModel::step feeds them.
std::vector<std::pair<uint32_t, float>> prompt_scores(const std::vector<int32_t>& prompt,
                                                      const std::vector<float>& rows, size_t vocab,
                                                      uint32_t chunk, RequestLogprobs& request) {
  std::vector<std::pair<uint32_t, float>> reported;
  for (uint32_t first = 0; first < prompt.size(); first += chunk) {
    const uint32_t count = std::min<uint32_t>(chunk, static_cast<uint32_t>(prompt.size()) - first);
    SequenceChunk sequence_chunk;
    sequence_chunk.tokens = std::span(prompt).subspan(first, count);
    sequence_chunk.first_position = first;
    sequence_chunk.all_logits = request.wants_all_rows(first, static_cast<uint32_t>(prompt.size()));
    if (!sequence_chunk.all_logits) continue;
    StepLogprobs step;
    step.add_prompt_rows(request, prompt, sequence_chunk,
                         std::span(rows).subspan(size_t{first} * vocab, size_t{count} * vocab), vocab);
    for (size_t e = 0; e < step.entries().size(); ++e) {
      reported.emplace_back(step.first_position() + static_cast<uint32_t>(e), step.entries()[e].token.logprob);
    }
  }
  return reported;
}

}  // namespace

TEST_CASE("logprob scores are the log-softmax of the raw logits, top lists ordered", "[llm]") {
  const std::vector<float> logits = random_logits(1000, 7);
  double normalizer = 0.0;
  for (float value : logits) normalizer += std::exp(static_cast<double>(value));
  const PositionScores scores = score_position(logits, 42, 5);
  CHECK(scores.token.logprob == Approx(logits[42] - std::log(normalizer)).margin(1e-5));
  REQUIRE(scores.top.size() == 5);
  std::vector<float> sorted = logits;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  for (size_t k = 0; k < 5; ++k) {
    CHECK(logits[scores.top[k].token] == sorted[k]);
    CHECK(scores.top[k].logprob == Approx(sorted[k] - std::log(normalizer)).margin(1e-5));
  }
  // Ties: the lower id first.
  const std::vector<float> flat(10, 1.0f);
  const PositionScores tied = score_position(flat, 3, 3);
  CHECK(tied.top[0].token == 0);
  CHECK(tied.top[2].token == 2);
  CHECK(tied.top[0].logprob == Approx(-std::log(10.0)));
}

TEST_CASE("prompt logprobs are the same whatever the chunking, and reported once", "[llm]") {
  const size_t vocab = 50;
  const std::vector<int32_t> prompt = {3, 17, 4, 4, 49, 0, 12, 8, 30, 2, 7};
  const std::vector<float> rows = random_logits(prompt.size() * vocab, 11);
  RequestLogprobs whole_request{LogprobOptions{false, true, 0}};
  const auto whole = prompt_scores(prompt, rows, vocab, 64, whole_request);
  REQUIRE(whole.size() == prompt.size());
  CHECK(std::isnan(whole[0].second));
  for (uint32_t p = 1; p < prompt.size(); ++p) {
    CHECK(whole[p].first == p);
    CHECK(whole[p].second ==
          Approx(score_position(std::span(rows).subspan((p - 1) * vocab, vocab), prompt[p], 0).token.logprob));
  }
  for (uint32_t chunk : {1u, 2u, 3u, 5u}) {
    RequestLogprobs request{LogprobOptions{false, true, 0}};
    const auto chunked = prompt_scores(prompt, rows, vocab, chunk, request);
    REQUIRE(chunked.size() == whole.size());
    for (size_t i = 1; i < whole.size(); ++i) CHECK(chunked[i].second == Approx(whole[i].second));
    // A recomputation after preemption reports nothing again.
    CHECK(prompt_scores(prompt, rows, vocab, chunk, request).empty());
  }
}
