// Phases of the frames of each node kind, shared by the GrammarMatcher
// engine (grammar_matcher.cpp) and its per-kind byte transitions
// (value_transitions.cpp). Internal to sdk/runtime/structured.
#pragma once

#include <cstdint>

namespace citadel::runtime::structured {

enum ObjectPhase : uint32_t { kObjectStart, kObjectOpen, kObjectKey, kObjectFreeKey, kObjectAfterKey,
                              kObjectBeforeValue, kObjectAfterValue, kObjectAfterComma };
enum ArrayPhase : uint32_t { kArrayStart, kArrayOpen, kArrayAfterValue, kArrayAfterComma };
enum StringPhase : uint32_t { kStringStart, kStringBody, kStringUtf8, kStringEscape, kStringHex };
enum NumberPhase : uint32_t { kNumberStart, kNumberMinus, kNumberZero, kNumberInt, kNumberDot, kNumberFraction,
                              kNumberE, kNumberExponentSign, kNumberExponent };
enum RepeatPhase : uint32_t { kRepeatItem, kRepeatBetween, kRepeatSeparator };

}  // namespace citadel::runtime::structured
