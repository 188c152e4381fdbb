// Weight memory per device: a cache space created with the model's device
// weight bytes (describe()'s device_weight_bytes, ABI 2.1) takes them off
// the pool's budget: unclaimed_bytes (what device: auto compares) shrinks,
// blocks can no longer be mapped into those bytes, they are released with
// the space, and the pool statistics (admin `pool`, /metrics) show them.
#include "cache_test_support.hpp"
#include "host/cache/pool_stats.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace citadel::cache;
using citadel::cache::test::kMiB;
using citadel::cache::test::make_cpu_pool;
using citadel::cache::test::space_settings;

TEST_CASE("a model's device weight bytes come off the pool budget while its space exists", "[cache][offload]") {
  auto pool = make_cpu_pool(16);
  const uint64_t before = pool->unclaimed_bytes();
  CHECK(before == 16 * kMiB);
  CacheSpaceSettings heavy = space_settings("heavy", 64 * 1024, 0);
  heavy.weight_bytes = 12 * kMiB;
  {
    auto space = pool->create_space(heavy);
    CHECK(pool->unclaimed_bytes() == 4 * kMiB);
    const PoolStats stats = pool->stats();
    CHECK(stats.weight_bytes == 12 * kMiB);
    REQUIRE(stats.spaces.size() == 1);
    CHECK(stats.spaces[0].stats.weight_bytes == 12 * kMiB);
    CHECK(to_json(stats).at("weight_bytes").to_number<uint64_t>() == 12 * kMiB);
    // Only the 4 MiB the weights leave can hold blocks (64 KiB each).
    std::vector<BlockId> blocks;
    CHECK(space->allocate(64, blocks));
    std::vector<BlockId> more;
    CHECK_FALSE(space->allocate(1, more));
    space->release(blocks);
    pool->check_invariants();
  }
  CHECK(pool->unclaimed_bytes() == before);
  CHECK(pool->stats().weight_bytes == 0);
}
