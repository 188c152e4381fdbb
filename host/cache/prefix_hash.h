// Prefix hashes for prefix caching (vLLM style): the hash of block i covers the
// tokens of block i and, through the chain, every block before it, so equal
// hashes mean equal prefixes. Only full blocks are hashed.
//
// Called by: host/sched before CacheSpace::match_prefix / publish_prefix.
#pragma once

#include "host/cache/cache_space.h"

#include <cstdint>
#include <span>
#include <vector>

namespace citadel::cache {

// Hash of one block given its parent's hash (kRootPrefixHash for the first).
inline constexpr PrefixHash kRootPrefixHash = 0x6a09e667f3bcc908ull;
PrefixHash hash_block(PrefixHash parent, std::span<const int32_t> block_tokens);

// Chained hashes of the full blocks of `tokens` (tokens.size() / tokens_per_block
// of them). `seed` separates namespaces that must never share blocks (e.g. a
// different adapter); kRootPrefixHash by default.
std::vector<PrefixHash> hash_prompt_blocks(std::span<const int32_t> tokens, uint32_t tokens_per_block,
                                           PrefixHash seed = kRootPrefixHash);

}  // namespace citadel::cache
