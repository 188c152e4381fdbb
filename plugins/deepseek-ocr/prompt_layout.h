// prompt_layout.h — DeepSeek-OCR's prompt token ids, as the reference lays
// them out (the "plain" conversation template of the released infer()):
//   [BOS] + encode(text before <image>) + [<image> id] * n + encode(text after)
// with the tokenizer's own encoding (no special tokens added, no EOS); the
// special tokens in the text (<|grounding|>, <|ref|>, ...) encode to their
// ids. n is the placeholder count the vision side reports for the image.
// Used by the model's request_open and tokenize, and by the tests.
#pragma once

#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace citadel::deepseek_ocr {

inline constexpr std::string_view kImageToken = "<image>";

struct PromptLayout {
  std::vector<int32_t> ids;
  uint32_t image_begin = 0;  // position of the first placeholder
  uint32_t image_tokens = 0; // placeholders
};

// Throws runtime::RuntimeError (INVALID_ARGUMENT) unless `prompt` holds
// exactly one "<image>".
PromptLayout layout_prompt(const runtime::Tokenizer& tokenizer, std::string_view prompt, int32_t bos_id,
                           int32_t image_token_id, uint32_t image_tokens);

}  // namespace citadel::deepseek_ocr
