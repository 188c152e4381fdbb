// The no-repeat n-gram guard (runtime/kernels/no_repeat_ngram.h) on hand-made
// sequences: what it bans, the window, the whitelist, and the logits it masks.
#include "runtime/kernels/no_repeat_ngram.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using citadel::runtime::NoRepeatNgramSettings;
using citadel::runtime::apply_no_repeat_ngram;
using citadel::runtime::banned_ngram_tokens;

TEST_CASE("the n-gram guard bans the token that would repeat an n-gram", "[runtime][ngram]") {
  const NoRepeatNgramSettings trigram{3, 100, {}};
  // "1 2 3 ... 1 2": the next 3 would repeat "1 2 3".
  const std::vector<int32_t> generated{1, 2, 3, 4, 1, 2};
  CHECK(banned_ngram_tokens(generated, trigram) == std::vector<int32_t>{3});
  // Two earlier continuations of "1 2" are both banned.
  CHECK(banned_ngram_tokens(std::vector<int32_t>{1, 2, 3, 1, 2, 5, 1, 2}, trigram) == std::vector<int32_t>{3, 5});
  // Too short, or no match: nothing.
  CHECK(banned_ngram_tokens(std::vector<int32_t>{1, 2}, trigram).empty());
  CHECK(banned_ngram_tokens(std::vector<int32_t>{1, 2, 3, 4, 5}, trigram).empty());
  // Off.
  CHECK(banned_ngram_tokens(generated, NoRepeatNgramSettings{0, 100, {}}).empty());
}

TEST_CASE("the n-gram guard looks only inside its window and spares whitelisted tokens", "[runtime][ngram]") {
  const std::vector<int32_t> generated{1, 2, 3, 9, 9, 9, 9, 1, 2};
  CHECK(banned_ngram_tokens(generated, NoRepeatNgramSettings{3, 9, {}}) == std::vector<int32_t>{3});
  // A window of 8 starts after the first "1 2 3".
  CHECK(banned_ngram_tokens(generated, NoRepeatNgramSettings{3, 8, {}}).empty());
  CHECK(banned_ngram_tokens(generated, NoRepeatNgramSettings{3, 100, {3}}).empty());

  std::vector<float> logits(10, 1.0f);
  CHECK(apply_no_repeat_ngram(logits, generated, NoRepeatNgramSettings{3, 100, {}}) == 1);
  CHECK(std::isinf(logits[3]));
  CHECK(logits[3] < 0);
  CHECK(logits[4] == 1.0f);
}
