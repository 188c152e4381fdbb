// NFC and NFKC: decompose (recursively, Hangul algorithmically; NFKC with
// the compatibility mappings first), order marks by combining class, then
// compose starters with the marks they are not blocked from (UAX #15).
#include "runtime/text/nfc.h"

#include "runtime/text/unicode_tables.h"
#include "runtime/text/utf8.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace citadel::runtime {
namespace {

constexpr uint32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr uint32_t kLeadCount = 19, kVowelCount = 21, kTrailCount = 28;
constexpr uint32_t kSyllableCount = kLeadCount * kVowelCount * kTrailCount;
constexpr uint32_t kInvalid = 0xFFFFFFFFu;  // marks an invalid byte, kept as is

struct Tables {
  std::unordered_map<uint32_t, const unicode::Decomposition*> decomposition;
  std::unordered_map<uint64_t, uint32_t> composition;
  std::unordered_map<uint32_t, const unicode::CompatibilityDecomposition*> compatibility;

  Tables() {
    for (size_t i = 0; i < unicode::kNumCompatibilityDecompositions; ++i) {
      const auto& d = unicode::kCompatibilityDecompositions[i];
      compatibility.emplace(d.code_point, &d);
    }
    for (size_t i = 0; i < unicode::kNumDecompositions; ++i) {
      const auto& d = unicode::kDecompositions[i];
      decomposition.emplace(d.code_point, &d);
      if (d.composes) composition.emplace((static_cast<uint64_t>(d.first) << 32) | d.second, d.code_point);
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

uint8_t combining_class(uint32_t cp) {
  const auto* begin = unicode::kCombiningClasses;
  const auto* end = begin + unicode::kNumCombiningClasses;
  const auto* it = std::upper_bound(begin, end, cp, [](uint32_t value, const unicode::CombiningClassRange& r) {
    return value < r.first;
  });
  if (it == begin) return 0;
  --it;
  return cp <= it->last ? it->combining_class : 0;
}

void decompose(uint32_t cp, bool compatibility, std::vector<uint32_t>& out) {
  if (compatibility) {
    const auto& map = tables().compatibility;
    if (auto it = map.find(cp); it != map.end()) {  // already the full NFKD
      const uint32_t* begin = unicode::kCompatibilityPool + it->second->offset;
      out.insert(out.end(), begin, begin + it->second->length);
      return;
    }
  }
  if (cp >= kHangulBase && cp < kHangulBase + kSyllableCount) {
    const uint32_t index = cp - kHangulBase;
    out.push_back(kLeadBase + index / (kVowelCount * kTrailCount));
    out.push_back(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
    if (index % kTrailCount != 0) out.push_back(kTrailBase + index % kTrailCount);
    return;
  }
  const auto& map = tables().decomposition;
  auto it = map.find(cp);
  if (it == map.end()) {
    out.push_back(cp);
    return;
  }
  decompose(it->second->first, compatibility, out);
  if (it->second->second != 0) decompose(it->second->second, compatibility, out);
}

uint32_t compose(uint32_t first, uint32_t second) {
  if (first >= kLeadBase && first < kLeadBase + kLeadCount && second >= kVowelBase &&
      second < kVowelBase + kVowelCount) {
    return kHangulBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
  }
  if (first >= kHangulBase && first < kHangulBase + kSyllableCount && (first - kHangulBase) % kTrailCount == 0 &&
      second > kTrailBase && second < kTrailBase + kTrailCount) {
    return first + (second - kTrailBase);
  }
  const auto& map = tables().composition;
  auto it = map.find((static_cast<uint64_t>(first) << 32) | second);
  return it == map.end() ? kInvalid : it->second;
}

uint32_t decode(std::string_view c) {
  const auto b0 = static_cast<uint8_t>(c[0]);
  if (c.size() == 1) return b0 < 0x80 ? b0 : kInvalid;
  uint32_t cp = c.size() == 2 ? (b0 & 0x1fu) : c.size() == 3 ? (b0 & 0x0fu) : (b0 & 0x07u);
  for (size_t i = 1; i < c.size(); ++i) cp = (cp << 6) | (static_cast<uint8_t>(c[i]) & 0x3fu);
  return cp;
}

}  // namespace

namespace {

std::string compose_normalize(std::string_view text, bool compatibility) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<uint8_t>(c) < 0x80; })) {
    return std::string(text);  // ASCII is always NFC and NFKC
  }
  // Decompose; invalid bytes are kept (as themselves) and act as starters.
  std::vector<uint32_t> points;
  std::vector<uint8_t> raw_bytes;  // the byte of each kInvalid entry, in order
  for (std::string_view c : utf8::characters(text)) {
    const uint32_t cp = utf8::valid_sequence_length(c) == 0 ? kInvalid : decode(c);
    if (cp == kInvalid) {
      points.push_back(kInvalid);
      raw_bytes.push_back(static_cast<uint8_t>(c[0]));
    } else {
      decompose(cp, compatibility, points);
    }
  }
  // Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < points.size();) {
    if (points[i] == kInvalid || combining_class(points[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < points.size() && points[j] != kInvalid && combining_class(points[j]) != 0) ++j;
    std::stable_sort(points.begin() + static_cast<std::ptrdiff_t>(i), points.begin() + static_cast<std::ptrdiff_t>(j),
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> composed;
  composed.reserve(points.size());
  int64_t starter = -1;   // index in `composed` of the last starter
  int last_class = -1;    // class of the last character after it (-1: none)
  for (uint32_t cp : points) {
    const int cc = cp == kInvalid ? 0 : combining_class(cp);
    if (starter >= 0 && cp != kInvalid && (last_class == -1 || last_class < cc)) {
      const uint32_t c = compose(composed[static_cast<size_t>(starter)], cp);
      if (c != kInvalid) {
        composed[static_cast<size_t>(starter)] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = cp == kInvalid ? -1 : static_cast<int64_t>(composed.size());
      last_class = -1;
    } else {
      last_class = cc;
    }
    composed.push_back(cp);
  }
  std::string out;
  out.reserve(text.size());
  size_t raw_index = 0;
  for (uint32_t cp : composed) {
    if (cp == kInvalid) {
      out.push_back(static_cast<char>(raw_bytes[raw_index++]));
    } else {
      utf8::append_code_point(out, cp);
    }
  }
  return out;
}

}  // namespace

std::string nfc_normalize(std::string_view text) { return compose_normalize(text, false); }

std::string nfkc_normalize(std::string_view text) { return compose_normalize(text, true); }

}  // namespace citadel::runtime
