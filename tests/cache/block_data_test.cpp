// Data written into blocks survives swap-out/in and compaction bit for bit,
// on the CPU backend and (tagged [cuda]) on the GPU; unmapped GPU memory goes
// back to the driver.
#include "cache_test_support.hpp"
#include "host/cache/cache_manager.h"

#include <catch2/catch.hpp>

using namespace citadel::cache;
using test::kMiB;

namespace {

void check_swap_round_trip(DevicePool& pool) {
  auto space = pool.create_space(test::space_settings("swap", 192 << 10, 16));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(24, blocks));
  for (size_t i = 0; i < blocks.size(); ++i) test::write_block(pool, *space, blocks[i], test::block_pattern(i, 192 << 10));
  std::vector<BlockId> request(blocks.begin() + 4, blocks.begin() + 20);
  auto swapped = space->swap_out(request);
  REQUIRE(swapped.has_value());
  CHECK(swapped->num_blocks == 16);
  CHECK(space->stats().swapped_bytes == 16 * (192 << 10));
  // Reuse the freed blocks for other data before swapping back in.
  std::vector<BlockId> scribble;
  REQUIRE(space->allocate(16, scribble));
  for (BlockId block : scribble) test::write_block(pool, *space, block, test::block_pattern(999, 192 << 10));
  space->release(scribble);
  std::vector<BlockId> back;
  REQUIRE(space->swap_in(*swapped, back));
  REQUIRE(back.size() == 16);
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(test::read_block(pool, *space, back[i]) == test::block_pattern(i + 4, 192 << 10));
  }
  CHECK(space->stats().swapped_bytes == 0);
  CHECK(space->stats().swaps_in == 16);
  CHECK_THROWS_AS(space->swap_in(*swapped, back), std::invalid_argument);  // ticket used up
  pool.check_invariants();
}

void check_compaction_keeps_data(DevicePool& pool) {
  auto space = pool.create_space(test::space_settings("compact", 40 << 10, 32));  // 51 per page, 8 KiB waste
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(51 * 10, blocks));
  std::vector<BlockId> kept, dropped;
  for (size_t i = 0; i < blocks.size(); ++i) (i % 5 == 0 ? kept : dropped).push_back(blocks[i]);
  for (size_t i = 0; i < kept.size(); ++i) test::write_block(pool, *space, kept[i], test::block_pattern(kept[i], 40 << 10));
  // Cached blocks move too (without move_live only they do).
  for (size_t i = 0; i < 20; ++i) space->publish_prefix(dropped[i * 20], 5000 + i);
  for (size_t i = 0; i < 20; ++i) {
    test::write_block(pool, *space, dropped[i * 20], test::block_pattern(5000 + i, 40 << 10));
  }
  space->release(dropped);
  uint64_t mapped_before = space->stats().mapped_bytes;
  uint64_t moved = pool.compact("compact", true);
  CHECK(moved > 0);
  CHECK(space->stats().mapped_bytes < mapped_before);
  for (BlockId block : kept) CHECK(test::read_block(pool, *space, block) == test::block_pattern(block, 40 << 10));
  for (size_t i = 0; i < 20; ++i) {
    std::vector<BlockId> hit;
    PrefixHash hash = 5000 + i;
    REQUIRE(space->match_prefix(std::span(&hash, 1), hit) == 1);
    CHECK(test::read_block(pool, *space, hit[0]) == test::block_pattern(5000 + i, 40 << 10));
  }
  pool.check_invariants();
}

#ifdef CITADEL_HAVE_CUDA
std::shared_ptr<DevicePool> make_cuda_pool(uint64_t swap_mb) {
  std::string why_not;
  std::shared_ptr<PageBackend> backend = make_cuda_page_backend(0, 0.5, why_not);
  INFO(why_not);
  REQUIRE(backend != nullptr);
  auto tier = std::make_shared<HostSwapTier>(swap_mb * kMiB, backend, true);
  return std::make_shared<DevicePool>(backend, tier, PoolOptions{.background_gc = false});
}
#endif

}  // namespace

TEST_CASE("block data survives swap-out and swap-in bit for bit (cpu)", "[cache]") {
  auto pool = test::make_cpu_pool(64, 8);
  check_swap_round_trip(*pool);
}

TEST_CASE("block data survives compaction bit for bit (cpu)", "[cache]") {
  auto pool = test::make_cpu_pool(64);
  check_compaction_keeps_data(*pool);
}

TEST_CASE("swap_out returns nothing when the host tier is full", "[cache]") {
  auto pool = test::make_cpu_pool(16, 1);
  auto space = pool->create_space(test::space_settings("m", 256 << 10, 8));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(8, blocks));
  CHECK_FALSE(space->swap_out(blocks).has_value());  // 2 MiB > 1 MiB
  CHECK(space->stats().live_blocks == 8);             // nothing released
  auto half = space->swap_out(std::span(blocks).first(4));
  REQUIRE(half.has_value());
  space->discard_swapped(*half);
  CHECK(space->swap_out(std::span(blocks).subspan(4)).has_value());
  pool->check_invariants();
}

TEST_CASE("cache manager builds a cpu pool and refuses an absent cuda device by name", "[cache]") {
  citadel::config::HostConfig host;
  host.source_file = "/etc/citadel/citadel.yaml";
  host.devices = {{"cpu", "cpu"}};
  host.cpu_cache_mb = 32;
  CacheManager manager(host);
  CHECK(manager.devices() == std::vector<std::string>{"cpu"});
  CHECK(manager.resolve_device("auto") == "cpu");
  CHECK_THROWS_WITH(manager.resolve_device("cuda:7"), Catch::Contains("cuda:7"));
  auto space = manager.create_space("auto", test::space_settings("m", 64 << 10, 8));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(40, blocks));
  auto json = manager.stats_json();
  const auto& device = json.at("devices").as_array().at(0).as_object();
  CHECK(device.at("device").as_string() == "cpu");
  CHECK(device.at("mapped_bytes").as_uint64() == 4 * kMiB);
  CHECK(device.at("spaces").as_array().at(0).as_object().at("live_blocks").as_uint64() == 40);

  host.devices = {{"cpu", "cpu"}, {"cuda:7", "cuda:7"}};
  CHECK_THROWS_WITH(CacheManager(host), Catch::Contains("cuda:7") && Catch::Contains("citadel.yaml"));
  host.devices = {{"tpu:0", "tpu:0"}};
  CHECK_THROWS_WITH(CacheManager(host), Catch::Contains("tpu:0"));
}

#ifdef CITADEL_HAVE_CUDA
TEST_CASE("block data survives swap-out and swap-in bit for bit (cuda)", "[cache][cuda]") {
  auto pool = make_cuda_pool(16);
  check_swap_round_trip(*pool);
}

TEST_CASE("block data survives compaction bit for bit (cuda)", "[cache][cuda]") {
  auto pool = make_cuda_pool(0);
  check_compaction_keeps_data(*pool);
}

TEST_CASE("unmapped pages return their memory to the driver", "[cache][cuda]") {
  auto pool = make_cuda_pool(0);
  uint64_t free_before = 0, free_mapped = 0, free_after = 0, total = 0;
  REQUIRE(cuda_memory_info(0, free_before, total));
  auto space = pool->create_space(test::space_settings("m", 2 * kMiB, 2048));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(1024, blocks));  // 2 GiB
  REQUIRE(cuda_memory_info(0, free_mapped, total));
  CHECK(free_before - free_mapped >= 2000 * kMiB);
  space->release(blocks);
  pool->run_gc_now();
  space.reset();
  REQUIRE(cuda_memory_info(0, free_after, total));
  CHECK(free_after + 64 * kMiB >= free_before);
  CHECK(pool->stats().mapped_bytes == 0);
}
#endif
