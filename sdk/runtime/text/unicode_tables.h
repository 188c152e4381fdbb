// The Unicode data behind NFC and NFKC normalization, as tables generated
// by make_unicode_tables.py into unicode_tables.cpp: canonical decompositions
// (sorted by code point), combining-class ranges (sorted) and compatibility
// decompositions (sorted; each the full NFKD of its code point). Internal to
// nfc.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace citadel::runtime::unicode {

struct Decomposition {
  uint32_t code_point;
  uint32_t first;
  uint32_t second;  // 0 for a singleton decomposition
  bool composes;    // first + second compose back to code_point under NFC
};

struct CombiningClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t combining_class;
};

struct CompatibilityDecomposition {
  uint32_t code_point;
  uint32_t offset;  // into kCompatibilityPool
  uint32_t length;
};

extern const Decomposition kDecompositions[];
extern const size_t kNumDecompositions;
extern const CombiningClassRange kCombiningClasses[];
extern const size_t kNumCombiningClasses;
extern const CompatibilityDecomposition kCompatibilityDecompositions[];
extern const size_t kNumCompatibilityDecompositions;
extern const uint32_t kCompatibilityPool[];

}  // namespace citadel::runtime::unicode
