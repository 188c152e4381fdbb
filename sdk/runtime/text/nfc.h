// Unicode NFC and NFKC normalization of UTF-8 text (canonical or
// compatibility decomposition, canonical ordering, canonical composition,
// Hangul included), as the "NFC" (Qwen2/Qwen3) and "NFKC" normalizers of a
// tokenizer.json ask for. Invalid UTF-8 bytes pass
// through unchanged. Used by the Tokenizer; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace citadel::runtime {

std::string nfc_normalize(std::string_view text);
// NFKC: compatibility decomposition, then canonical composition ("NFKC"
// normalizer of a tokenizer.json).
std::string nfkc_normalize(std::string_view text);

}  // namespace citadel::runtime
