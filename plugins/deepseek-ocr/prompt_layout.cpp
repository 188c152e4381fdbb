// Laying out the prompt ids around the image's placeholder run.
#include "prompt_layout.h"

#include "runtime/core/error.h"

namespace citadel::deepseek_ocr {

PromptLayout layout_prompt(const runtime::Tokenizer& tokenizer, std::string_view prompt, int32_t bos_id,
                           int32_t image_token_id, uint32_t image_tokens) {
  const size_t at = prompt.find(kImageToken);
  if (at == std::string_view::npos || prompt.find(kImageToken, at + 1) != std::string_view::npos)
    runtime::throw_invalid("request input: field \"prompt\" must hold exactly one <image> (where the page goes), e.g. "
                           "\"<image>\\nFree OCR.\"");
  PromptLayout layout;
  layout.ids.push_back(bos_id);
  const std::string_view before = prompt.substr(0, at);
  const std::string_view after = prompt.substr(at + kImageToken.size());
  if (!before.empty()) {
    const std::vector<int32_t> ids = tokenizer.encode(before, /*add_special_tokens=*/false);
    layout.ids.insert(layout.ids.end(), ids.begin(), ids.end());
  }
  layout.image_begin = static_cast<uint32_t>(layout.ids.size());
  layout.image_tokens = image_tokens;
  layout.ids.insert(layout.ids.end(), image_tokens, image_token_id);
  if (!after.empty()) {
    const std::vector<int32_t> ids = tokenizer.encode(after, /*add_special_tokens=*/false);
    layout.ids.insert(layout.ids.end(), ids.begin(), ids.end());
  }
  return layout;
}

}  // namespace citadel::deepseek_ocr
