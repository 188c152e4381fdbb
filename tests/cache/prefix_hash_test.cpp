// Chained prefix hashes: only full blocks, equal prefixes give equal hashes,
// any earlier difference changes every later hash.
#include "host/cache/prefix_hash.h"

#include <catch2/catch.hpp>

#include <numeric>

using namespace citadel::cache;

TEST_CASE("hash_prompt_blocks hashes only full blocks", "[cache]") {
  std::vector<int32_t> tokens(37);
  std::iota(tokens.begin(), tokens.end(), 100);
  CHECK(hash_prompt_blocks(tokens, 16).size() == 2);
  CHECK(hash_prompt_blocks(std::span(tokens).first(15), 16).empty());
  CHECK_THROWS_AS(hash_prompt_blocks(tokens, 0), std::invalid_argument);
}

TEST_CASE("equal prefixes hash equally and a change early changes every later hash", "[cache]") {
  std::vector<int32_t> a(64), b(64);
  std::iota(a.begin(), a.end(), 1);
  b = a;
  b[6] += 1;  // a token of block 0
  auto hashes_a = hash_prompt_blocks(a, 16);
  auto hashes_b = hash_prompt_blocks(b, 16);
  REQUIRE(hashes_a.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(hashes_a[i] != hashes_b[i]);

  std::vector<int32_t> c = a;
  c[40] = -5;  // block 2
  auto hashes_c = hash_prompt_blocks(c, 16);
  CHECK(hashes_c[0] == hashes_a[0]);
  CHECK(hashes_c[1] == hashes_a[1]);
  CHECK(hashes_c[2] != hashes_a[2]);
  CHECK(hashes_c[3] != hashes_a[3]);
}

TEST_CASE("the same block content under different parents hashes differently", "[cache]") {
  std::vector<int32_t> block(16, 7);
  CHECK(hash_block(kRootPrefixHash, block) != hash_block(hash_block(kRootPrefixHash, block), block));
  auto seeded = hash_prompt_blocks(block, 16, 12345);
  CHECK(seeded[0] != hash_prompt_blocks(block, 16)[0]);
}
