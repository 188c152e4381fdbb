// Device claims (plugin.h citadel_device_claim, ABI 2.4): memory a model
// keeps on a device outside its cache blocks — a tensor-parallel rank's
// weights and block shares on another GPU — comes off that device's pool
// budget while the claim lives: unclaimed_bytes shrinks, other models'
// spaces cannot map into those bytes, the pool statistics name the claim,
// and destroying it gives the bytes back.
#include "cache_test_support.hpp"
#include "host/cache/pool_stats.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace citadel::cache;
using citadel::cache::test::kMiB;
using citadel::cache::test::make_cpu_pool;
using citadel::cache::test::space_settings;

TEST_CASE("a device claim takes its bytes off the pool budget until it is destroyed", "[cache][tensor_parallel]") {
  auto pool = make_cpu_pool(16);
  auto space = pool->create_space(space_settings("other", 64 * 1024, 0));
  {
    const std::shared_ptr<DeviceClaim> claim = pool->claim("split@g1", 10 * kMiB);
    CHECK(claim->model() == "split@g1");
    CHECK(claim->bytes() == 10 * kMiB);
    CHECK(claim->device() == pool->device());
    CHECK(pool->unclaimed_bytes() == 6 * kMiB);

    const PoolStats stats = pool->stats();
    CHECK(stats.claimed_bytes == 10 * kMiB);
    CHECK(stats.weight_bytes == 0);
    REQUIRE(stats.claims.size() == 1);
    CHECK(stats.claims[0].model == "split@g1");
    CHECK(stats.claims[0].bytes == 10 * kMiB);
    const boost::json::object json = to_json(stats);
    CHECK(json.at("claimed_bytes").to_number<uint64_t>() == 10 * kMiB);
    CHECK(json.at("claims").at(0).at("model").as_string() == "split@g1");

    // The other model's space maps only the 6 MiB left (64 KiB blocks).
    std::vector<BlockId> blocks;
    CHECK(space->allocate(96, blocks));
    std::vector<BlockId> more;
    CHECK_FALSE(space->allocate(1, more));
    space->release(blocks);
    pool->check_invariants();
  }
  // Unclaimed again but for the empty slab the space keeps mapped.
  CHECK(pool->unclaimed_bytes() == 16 * kMiB - pool->stats().mapped_bytes);
  CHECK(pool->stats().claimed_bytes == 0);
  CHECK(pool->stats().claims.empty());
  std::vector<BlockId> blocks;
  CHECK(space->allocate(200, blocks));  // the claimed 10 MiB hold blocks again
  space->release(blocks);
}

TEST_CASE("claims past the budget are taken (the memory is the plugin's already) and stop the pool from growing",
          "[cache][tensor_parallel]") {
  auto pool = make_cpu_pool(8);
  auto space = pool->create_space(space_settings("other", 64 * 1024, 0));
  auto first = pool->claim("a@g1", 6 * kMiB);
  auto second = pool->claim("b@g1", 6 * kMiB);
  CHECK(pool->unclaimed_bytes() == 0);
  CHECK(pool->stats().claimed_bytes == 12 * kMiB);
  std::vector<BlockId> blocks;
  CHECK_FALSE(space->allocate(1, blocks));
  second.reset();
  CHECK(pool->unclaimed_bytes() == 2 * kMiB);
  CHECK(space->allocate(32, blocks));
  space->release(blocks);
  pool->check_invariants();
}
