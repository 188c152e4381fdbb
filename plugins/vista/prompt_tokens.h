// The text front end of Wan2.1's pipeline (diffusers WanPipeline
// _get_t5_prompt_embeds; Wan's T5 tokenizer wrapper): the prompt is cleaned
// (HTML entities unescaped twice, whitespace runs collapsed to one space,
// stripped; ftfy is not applied), encoded with the tokenizer's special tokens
// (UMT5: "</s>" appended), truncated to max_length keeping the final special
// token, and padded with the pad id to max_length. Used by the vista model.
#pragma once

#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::vista {

struct PromptTokens {
  std::vector<int32_t> ids;  // max_length ids
  int64_t valid = 0;         // prompt tokens before the padding
};

// The cleaning step alone (html.unescape of the common named and numeric
// entities, twice; whitespace collapsed; stripped).
std::string clean_prompt(std::string_view prompt);

PromptTokens tokenize_prompt(const runtime::Tokenizer& tokenizer, std::string_view prompt, int64_t max_length,
                             int32_t pad_id);

}  // namespace citadel::vista
