// TokenIdMap: token text -> id, looked up by std::string_view without making
// a std::string (a transparent hash). The vocabularies and added-token tables
// of BpeModel (bpe_model.h) and UnigramModel (unigram_model.h). Internal to
// sdk/runtime/text; immutable once the Tokenizer is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace citadel::runtime {

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

using TokenIdMap = std::unordered_map<std::string, int32_t, TransparentStringHash, std::equal_to<>>;

}  // namespace citadel::runtime
