// No-repeat n-gram guard over a sliding window, as DeepSeek-OCR's
// NoRepeatNGramLogitsProcessor (DeepSeek-OCR-vllm/process/ngram_norepeat.py)
// applies it to document OCR: when the last n-1 generated tokens equal the
// first n-1 tokens of an n-gram that starts within the last `window` tokens,
// the token that completed that n-gram is banned (its logit set to -inf),
// unless it is whitelisted (DeepSeek uses n 30, window 90, whitelist <td>,
// </td>). It looks at the generated tokens only. Used by the deepseek-ocr
// plugin before sampling each token; any plugin may use it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::runtime {

struct NoRepeatNgramSettings {
  uint32_t ngram_size = 0;  // 0: off
  uint32_t window = 100;
  std::vector<int32_t> whitelist;
};

// The tokens the guard bans after `generated` (sorted, unique).
std::vector<int32_t> banned_ngram_tokens(std::span<const int32_t> generated, const NoRepeatNgramSettings& settings);

// Sets the banned tokens' logits to -infinity; returns how many were banned.
size_t apply_no_repeat_ngram(std::span<float> logits, std::span<const int32_t> generated,
                             const NoRepeatNgramSettings& settings);

}  // namespace citadel::runtime
