// Prefix hashes for prefix caching (vLLM style): the hash of block i covers the
// tokens of block i and, through the chain, every block before it, so equal
// hashes mean equal prefixes. Only full blocks are hashed. Extra keys (the
// content hash of a run of placeholder tokens, e.g. an image's vision
// tokens) are mixed into every block the run overlaps, so equal placeholder
// ids with different content never give equal hashes.
//
// Called by: host/sched before CacheSpace::match_prefix / publish_prefix.
#pragma once

#include "host/cache/cache_space.h"

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::cache {

// The content behind prompt positions [begin, end): a 128-bit hash.
struct PrefixExtraKey {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint64_t hash_low = 0;
  uint64_t hash_high = 0;
};

// Hash of one block given its parent's hash (kRootPrefixHash for the first)
// and the extra keys that overlap it (none for plain text).
inline constexpr PrefixHash kRootPrefixHash = 0x6a09e667f3bcc908ull;
PrefixHash hash_block(PrefixHash parent, std::span<const int32_t> block_tokens,
                      std::span<const PrefixExtraKey> overlapping_keys = {});

// Chained hashes of the full blocks of `tokens` (tokens.size() / tokens_per_block
// of them). `seed` separates namespaces that must never share blocks (e.g. a
// different adapter); kRootPrefixHash by default. `extra_keys` must be sorted
// by begin and lie inside the tokens (checked: std::invalid_argument).
std::vector<PrefixHash> hash_prompt_blocks(std::span<const int32_t> tokens, uint32_t tokens_per_block,
                                           PrefixHash seed = kRootPrefixHash,
                                           std::span<const PrefixExtraKey> extra_keys = {});

}  // namespace citadel::cache
