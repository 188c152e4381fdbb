// Chained block hashes: a 64-bit mix over the parent hash, the block length,
// every token and every overlapping extra key (murmur3 finaliser per step).
#include "host/cache/prefix_hash.h"

#include <stdexcept>
#include <string>

namespace citadel::cache {
namespace {

uint64_t mix64(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdull;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ull;
  value ^= value >> 33;
  return value;
}

}  // namespace

PrefixHash hash_block(PrefixHash parent, std::span<const int32_t> block_tokens,
                      std::span<const PrefixExtraKey> overlapping_keys) {
  uint64_t hash = mix64(parent ^ (0x9e3779b97f4a7c15ull * (block_tokens.size() + 1)));
  for (int32_t token : block_tokens) {
    hash = mix64(hash + 0x9e3779b97f4a7c15ull + static_cast<uint32_t>(token));
  }
  for (const PrefixExtraKey& key : overlapping_keys) {
    hash = mix64(hash ^ (0xbb67ae8584caa73bull + ((uint64_t{key.begin} << 32) | key.end)));
    hash = mix64(hash + key.hash_low);
    hash = mix64(hash ^ key.hash_high);
  }
  return hash;
}

std::vector<PrefixHash> hash_prompt_blocks(std::span<const int32_t> tokens, uint32_t tokens_per_block,
                                           PrefixHash seed, std::span<const PrefixExtraKey> extra_keys) {
  if (tokens_per_block == 0) throw std::invalid_argument("hash_prompt_blocks: tokens_per_block is 0");
  for (size_t i = 0; i < extra_keys.size(); ++i) {
    const PrefixExtraKey& key = extra_keys[i];
    if (key.begin >= key.end || key.end > tokens.size() || (i > 0 && key.begin < extra_keys[i - 1].begin)) {
      throw std::invalid_argument("hash_prompt_blocks: extra key " + std::to_string(i) + " covers [" +
                                  std::to_string(key.begin) + ", " + std::to_string(key.end) +
                                  "), not a sorted run inside the " + std::to_string(tokens.size()) +
                                  " prompt tokens");
    }
  }
  std::vector<PrefixHash> hashes;
  hashes.reserve(tokens.size() / tokens_per_block);
  PrefixHash parent = seed;
  size_t first_key = 0;  // keys before it end before the current block
  std::vector<PrefixExtraKey> overlapping;
  for (size_t start = 0; start + tokens_per_block <= tokens.size(); start += tokens_per_block) {
    const size_t end = start + tokens_per_block;
    while (first_key < extra_keys.size() && extra_keys[first_key].end <= start) ++first_key;
    overlapping.clear();
    for (size_t k = first_key; k < extra_keys.size() && extra_keys[k].begin < end; ++k) {
      if (extra_keys[k].end > start) overlapping.push_back(extra_keys[k]);
    }
    parent = hash_block(parent, tokens.subspan(start, tokens_per_block), overlapping);
    hashes.push_back(parent);
  }
  return hashes;
}

}  // namespace citadel::cache
