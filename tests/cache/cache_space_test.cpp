// CacheSpace behaviour on the CPU backend: allocation within budgets, release
// and reference counts, prefix sharing, block carving, and the errors a bad
// configuration gets.
#include "cache_test_support.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace citadel::cache;
using test::kMiB;

TEST_CASE("allocated blocks are distinct, inside mapped pages, and never exceed the ceiling", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 4));  // 2 pages, 64 blocks
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(40, blocks));
  REQUIRE(blocks.size() == 40);
  std::set<std::byte*> addresses;
  for (BlockId block : blocks) {
    auto* address = static_cast<std::byte*>(space->address(block));
    addresses.insert(address);
    address[0] = std::byte{1};  // mapped: writable
    address[(64 << 10) - 1] = std::byte{2};
  }
  CHECK(addresses.size() == 40);
  CHECK(space->stats().mapped_bytes == 4 * kMiB);
  std::vector<BlockId> more;
  CHECK(space->allocate(24, more));
  std::vector<BlockId> too_many;
  CHECK_FALSE(space->allocate(1, too_many));
  CHECK(too_many.empty());
  CHECK(space->stats().live_blocks == 64);
  pool->check_invariants();
}

TEST_CASE("releasing a block that is not live or more often than referenced throws", "[cache]") {
  auto pool = test::make_cpu_pool(8);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 4));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(2, blocks));
  std::vector<BlockId> twice{blocks[0], blocks[0]};
  CHECK_THROWS_AS(space->release(twice), std::invalid_argument);
  space->release(blocks);
  CHECK_THROWS_WITH(space->release(blocks), Catch::Contains("not live") && Catch::Contains("'m'"));
  CHECK(space->stats().live_blocks == 0);
  pool->check_invariants();
}

TEST_CASE("match_prefix shares the longest published run and counts hits", "[cache]") {
  auto pool = test::make_cpu_pool(8);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 4));
  std::vector<BlockId> first;
  REQUIRE(space->allocate(3, first));
  std::vector<PrefixHash> hashes{11, 22, 33, 44};
  for (size_t i = 0; i < 3; ++i) space->publish_prefix(first[i], hashes[i]);

  std::vector<BlockId> shared;
  CHECK(space->match_prefix(hashes, shared) == 3);  // 44 is not there
  CHECK(shared == first);
  CHECK(space->stats().live_blocks == 3);
  space->release(first);  // still referenced by the second request
  CHECK(space->stats().cached_blocks == 0);
  space->release(shared);
  CHECK(space->stats().cached_blocks == 3);

  std::vector<BlockId> again;
  std::vector<PrefixHash> other{99, 11};
  CHECK(space->match_prefix(other, again) == 0);  // leading block differs
  CHECK(space->match_prefix(hashes, again) == 3);
  CacheSpaceStats stats = space->stats();
  CHECK(stats.prefix_queries == 4 + 2 + 4);
  CHECK(stats.prefix_hits == 6);
  CHECK(stats.live_blocks == 3);
  CHECK(stats.cached_blocks == 0);
  pool->check_invariants();
}

TEST_CASE("a block without a prefix hash is freed on release, the first publisher keeps a hash", "[cache]") {
  auto pool = test::make_cpu_pool(8);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 4));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(2, blocks));
  space->publish_prefix(blocks[0], 5);
  space->publish_prefix(blocks[1], 5);  // duplicate content: ignored
  space->release(blocks);
  CHECK(space->stats().cached_blocks == 1);
  std::vector<BlockId> hit;
  PrefixHash hash = 5;
  CHECK(space->match_prefix(std::span(&hash, 1), hit) == 1);
  CHECK(hit[0] == blocks[0]);
  pool->check_invariants();
}

TEST_CASE("blocks larger than a page get runs of pages with little waste", "[cache]") {
  auto pool = test::make_cpu_pool(64);
  auto space = pool->create_space(test::space_settings("big", 3 * kMiB, 24));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(8, blocks));  // 8 x 3 MiB = 24 MiB exactly: 4 slabs of 3 pages, 2 blocks each
  CHECK(space->stats().mapped_bytes == 24 * kMiB);
  for (BlockId block : blocks) static_cast<std::byte*>(space->address(block))[3 * kMiB - 1] = std::byte{7};
  auto stats = pool->stats();
  REQUIRE(stats.spaces.size() == 1);
  CHECK(stats.spaces[0].blocks_per_slab == 2);
  CHECK(stats.fragmentation_pct == Approx(0.0));
  pool->check_invariants();
}

TEST_CASE("impossible budgets are refused with the model and the field named", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("huge", 64 << 10, 17)),
                    Catch::Contains("huge") && Catch::Contains("cache.size_mb 17") && Catch::Contains("budget"));
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("tiny", 64 << 10, 1)),
                    Catch::Contains("cache.size_mb 1") && Catch::Contains("cannot hold one block"));
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("floor", 64 << 10, 4, 6)),
                    Catch::Contains("cache.reserved_mb 6") && Catch::Contains("exceeds cache.size_mb"));
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("empty", 0, 4)), Catch::Contains("block geometry"));
  auto a = pool->create_space(test::space_settings("a", 64 << 10, 16, 10));
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("b", 64 << 10, 16, 8)),
                    Catch::Contains("cache.reserved_mb 8 cannot be met"));
  CHECK_THROWS_WITH(pool->create_space(test::space_settings("a", 64 << 10, 4)), Catch::Contains("already"));
  pool->check_invariants();
}

TEST_CASE("destroying a space unmaps its pages and frees its swap tickets", "[cache]") {
  auto pool = test::make_cpu_pool(16, 4);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 8));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(100, blocks));
  auto swapped = space->swap_out(std::span(blocks).first(10));
  REQUIRE(swapped.has_value());
  CHECK(pool->stats().mapped_bytes == 8 * kMiB);
  space.reset();
  PoolStats stats = pool->stats();
  CHECK(stats.mapped_bytes == 0);
  CHECK(stats.page_unmaps == stats.page_maps);
  CHECK(stats.spaces.empty());
  pool->check_invariants();
}

TEST_CASE("the spare empty slab is kept after release, the rest unmapped", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 16));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32 * 5, blocks));  // five full pages
  CHECK(space->stats().mapped_bytes == 10 * kMiB);
  space->release(blocks);
  CHECK(space->stats().mapped_bytes == 2 * kMiB);
  pool->check_invariants();
}
