// The no-repeat n-gram guard: a scan of the window for n-grams whose first
// n-1 tokens equal the current suffix.
#include "runtime/kernels/no_repeat_ngram.h"

#include <algorithm>
#include <limits>

namespace citadel::runtime {

std::vector<int32_t> banned_ngram_tokens(std::span<const int32_t> generated, const NoRepeatNgramSettings& settings) {
  std::vector<int32_t> banned;
  const size_t n = settings.ngram_size;
  const size_t length = generated.size();
  if (n == 0 || length < n) return banned;
  const std::span<const int32_t> suffix = generated.last(n - 1);
  const size_t search_begin = length > settings.window ? length - settings.window : 0;
  const size_t search_end = length - n + 1;
  for (size_t i = search_begin; i < search_end; ++i) {
    if (std::equal(suffix.begin(), suffix.end(), generated.begin() + i)) banned.push_back(generated[i + n - 1]);
  }
  std::sort(banned.begin(), banned.end());
  banned.erase(std::unique(banned.begin(), banned.end()), banned.end());
  std::erase_if(banned, [&](int32_t token) {
    return std::find(settings.whitelist.begin(), settings.whitelist.end(), token) != settings.whitelist.end();
  });
  return banned;
}

size_t apply_no_repeat_ngram(std::span<float> logits, std::span<const int32_t> generated,
                             const NoRepeatNgramSettings& settings) {
  size_t count = 0;
  for (int32_t token : banned_ngram_tokens(generated, settings)) {
    if (token < 0 || static_cast<size_t>(token) >= logits.size()) continue;
    logits[token] = -std::numeric_limits<float>::infinity();
    ++count;
  }
  return count;
}

}  // namespace citadel::runtime
