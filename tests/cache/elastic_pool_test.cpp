// Sharing one device between spaces: pages flow from an idle space to a busy
// one, floors are kept, GC brings a space under its threshold, compaction
// gives pages back, budgets can change at run time.
#include "cache_test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace citadel::cache;
using test::kMiB;

namespace {

void publish_all(CacheSpace& space, const std::vector<BlockId>& blocks, PrefixHash base) {
  for (size_t i = 0; i < blocks.size(); ++i) space.publish_prefix(blocks[i], base + i);
}

}  // namespace

TEST_CASE("a busy space takes the pages an idle space no longer uses", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto a = pool->create_space(test::space_settings("a", 64 << 10, 16));
  auto b = pool->create_space(test::space_settings("b", 64 << 10, 16));
  std::vector<BlockId> a_blocks, b_blocks;
  REQUIRE(a->allocate(32 * 8, a_blocks));  // the whole device
  CHECK_FALSE(b->allocate(1, b_blocks));
  a->release(a_blocks);  // free blocks: a keeps one spare page
  CHECK(a->stats().mapped_bytes == 2 * kMiB);
  REQUIRE(b->allocate(32 * 8, b_blocks));  // takes a's spare page too
  CHECK(a->stats().mapped_bytes == 0);
  CHECK(b->stats().mapped_bytes == 16 * kMiB);
  pool->check_invariants();
}

TEST_CASE("a busy space evicts an idle space's cached blocks when no page is free", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto a = pool->create_space(test::space_settings("a", 64 << 10, 16));
  auto b = pool->create_space(test::space_settings("b", 64 << 10, 16));
  std::vector<BlockId> a_blocks, b_blocks;
  REQUIRE(a->allocate(32 * 8, a_blocks));
  publish_all(*a, a_blocks, 1);
  a->release(a_blocks);
  CHECK(a->stats().cached_blocks == 256);
  REQUIRE(b->allocate(32 * 3, b_blocks));
  CHECK(a->stats().mapped_bytes == 10 * kMiB);
  CHECK(a->stats().evictions == 96);
  // lru: the first-released, lowest hashes went first
  std::vector<BlockId> hit;
  PrefixHash oldest = 1, newest = 256;
  CHECK(a->match_prefix(std::span(&oldest, 1), hit) == 0);
  CHECK(a->match_prefix(std::span(&newest, 1), hit) == 1);
  pool->check_invariants();
}

TEST_CASE("a space's reserved floor is never taken by another space", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto a = pool->create_space(test::space_settings("a", 64 << 10, 16, 6));
  auto b = pool->create_space(test::space_settings("b", 64 << 10, 16));
  std::vector<BlockId> b_blocks;
  CHECK_FALSE(b->allocate(32 * 6, b_blocks));  // 12 MiB > 16 - 6
  REQUIRE(b->allocate(32 * 5, b_blocks));
  std::vector<BlockId> a_blocks;
  REQUIRE(a->allocate(32 * 3, a_blocks));  // its floor is still there
  publish_all(*a, a_blocks, 1);
  a->release(a_blocks);
  std::vector<BlockId> more;
  CHECK_FALSE(b->allocate(1, more));  // a's cached blocks sit inside its floor
  CHECK(a->stats().cached_blocks == 96);
  pool->check_invariants();
}

TEST_CASE("run_gc_now evicts cached blocks and unmaps pages until the space is under its threshold", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto space = pool->create_space(
      test::space_settings("m", 64 << 10, 16, 0, citadel::config::EvictionPolicyKind::lru, 0.5));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32 * 8, blocks));
  publish_all(*space, blocks, 1);
  space->release(blocks);
  CHECK(space->stats().mapped_bytes == 16 * kMiB);
  pool->run_gc_now();
  CacheSpaceStats stats = space->stats();
  CHECK(stats.mapped_bytes <= 8 * kMiB);
  CHECK(stats.cached_blocks == 128);
  CHECK(stats.gc_runs == 1);
  pool->run_gc_now();  // already under: nothing to do
  CHECK(space->stats().gc_runs == 1);
  pool->check_invariants();
}

TEST_CASE("the background GC thread reclaims after a release passes the threshold", "[cache]") {
  std::shared_ptr<PageBackend> backend = make_cpu_page_backend(16 * kMiB, 64 * kMiB);
  auto pool = std::make_shared<DevicePool>(backend, nullptr, PoolOptions{.background_gc = true});
  auto space = pool->create_space(
      test::space_settings("m", 64 << 10, 16, 0, citadel::config::EvictionPolicyKind::lru, 0.5));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32 * 8, blocks));
  publish_all(*space, blocks, 1);
  space->release(blocks);
  for (int i = 0; i < 500 && space->stats().mapped_bytes > 8 * kMiB; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(space->stats().mapped_bytes <= 8 * kMiB);
  pool->check_invariants();
}

TEST_CASE("compaction moves live blocks out of sparse pages and unmaps them", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 16));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32 * 8, blocks));
  std::vector<BlockId> dropped, kept;
  for (size_t i = 0; i < blocks.size(); ++i) (i % 8 == 0 ? kept : dropped).push_back(blocks[i]);
  space->release(dropped);  // 32 live blocks spread over 8 pages
  CHECK(space->stats().mapped_bytes == 16 * kMiB);
  CHECK(pool->compact("m", false) == 0);  // live blocks stay put without move_live
  CHECK(pool->compact("m", true) == 28);
  CHECK(space->stats().mapped_bytes == 2 * kMiB);
  CHECK(space->stats().compactions == 1);
  CHECK(pool->stats().fragmentation_pct == Approx(0.0));
  pool->check_invariants();
}

TEST_CASE("shrinking a space's budget evicts its cached blocks down to the new ceiling", "[cache]") {
  auto pool = test::make_cpu_pool(16);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 16));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32 * 8, blocks));
  publish_all(*space, blocks, 1);
  space->release(std::span(blocks).first(200));
  pool->set_budget("m", 4, 0);
  CacheSpaceStats stats = space->stats();
  CHECK(stats.budget_bytes == 4 * kMiB);
  // 56 live blocks fill pages 6 and 7 but for 8 slots: the 8 most recently
  // cached blocks (in page 6) fit under the new ceiling and stay.
  CHECK(stats.mapped_bytes == 4 * kMiB);
  CHECK(stats.cached_blocks == 8);
  CHECK(stats.evictions == 192);
  CHECK_THROWS_WITH(pool->set_budget("m", 32, 0), Catch::Contains("exceeds the device budget"));
  pool->check_invariants();
}
