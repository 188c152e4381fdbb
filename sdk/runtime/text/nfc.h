// Unicode NFC normalization of UTF-8 text (canonical decomposition, canonical
// ordering, canonical composition, Hangul included), as the "NFC" normalizer
// of a tokenizer.json (Qwen2/Qwen3) asks for. Invalid UTF-8 bytes pass
// through unchanged. Used by the Tokenizer; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace citadel::runtime {

std::string nfc_normalize(std::string_view text);

}  // namespace citadel::runtime
