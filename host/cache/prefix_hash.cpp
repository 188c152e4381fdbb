// Chained block hashes: a 64-bit mix over the parent hash, the block length
// and every token (murmur3 finaliser per step).
#include "host/cache/prefix_hash.h"

#include <stdexcept>

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

PrefixHash hash_block(PrefixHash parent, std::span<const int32_t> block_tokens) {
  uint64_t hash = mix64(parent ^ (0x9e3779b97f4a7c15ull * (block_tokens.size() + 1)));
  for (int32_t token : block_tokens) {
    hash = mix64(hash + 0x9e3779b97f4a7c15ull + static_cast<uint32_t>(token));
  }
  return hash;
}

std::vector<PrefixHash> hash_prompt_blocks(std::span<const int32_t> tokens, uint32_t tokens_per_block,
                                           PrefixHash seed) {
  if (tokens_per_block == 0) throw std::invalid_argument("hash_prompt_blocks: tokens_per_block is 0");
  std::vector<PrefixHash> hashes;
  hashes.reserve(tokens.size() / tokens_per_block);
  PrefixHash parent = seed;
  for (size_t start = 0; start + tokens_per_block <= tokens.size(); start += tokens_per_block) {
    parent = hash_block(parent, tokens.subspan(start, tokens_per_block));
    hashes.push_back(parent);
  }
  return hashes;
}

}  // namespace citadel::cache
