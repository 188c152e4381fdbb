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

TEST_CASE("extra keys change exactly the blocks their run overlaps and every later one", "[cache]") {
  std::vector<int32_t> tokens(64, 9);  // the same placeholder id everywhere
  const PrefixExtraKey image_a{20, 40, 0x1111, 0x2222};
  const PrefixExtraKey image_b{20, 40, 0x1111, 0x2223};  // differs in the high half only
  const auto plain = hash_prompt_blocks(tokens, 16);
  const auto with_a = hash_prompt_blocks(tokens, 16, kRootPrefixHash, std::span(&image_a, 1));
  const auto with_a_again = hash_prompt_blocks(tokens, 16, kRootPrefixHash, std::span(&image_a, 1));
  const auto with_b = hash_prompt_blocks(tokens, 16, kRootPrefixHash, std::span(&image_b, 1));
  REQUIRE(with_a.size() == 4);
  CHECK(with_a == with_a_again);
  CHECK(with_a[0] == plain[0]);  // block 0 ends before the run
  CHECK(with_a[0] == with_b[0]);
  for (size_t i = 1; i < 4; ++i) {
    CHECK(with_a[i] != plain[i]);
    CHECK(with_a[i] != with_b[i]);
  }
  const PrefixExtraKey moved{21, 41, 0x1111, 0x2222};  // same content elsewhere
  CHECK(hash_prompt_blocks(tokens, 16, kRootPrefixHash, std::span(&moved, 1))[1] != with_a[1]);
  const PrefixExtraKey outside{60, 70, 1, 2};
  CHECK_THROWS_AS(hash_prompt_blocks(tokens, 16, kRootPrefixHash, std::span(&outside, 1)), std::invalid_argument);
}
