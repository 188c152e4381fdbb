// Several pools on one physical device: the sizes of logical devices
// (device_pool_plan.h) on a GPU of a given free memory and on the CPU, the
// errors when they do not fit, and a CacheManager with two logical CPU
// devices: a pool each, `device: auto` taking the one with more free memory,
// the physical device behind each name, devices excluded by a reload.
#include "cache_test_support.hpp"
#include "host/cache/cache_manager.h"
#include "host/cache/device_pool_plan.h"

#include <catch2/catch.hpp>

using citadel::cache::CacheManager;
using citadel::cache::DeviceMemory;
using citadel::cache::PlannedPool;
using citadel::cache::plan_device_pools;
using citadel::cache::test::kMiB;
using citadel::config::DeviceSpec;

namespace {

// A machine with `gpus` GPUs of `free_mib` free each and `host_mib` of memory.
DeviceMemory machine(int gpus, uint64_t free_mib, uint64_t host_mib) {
  DeviceMemory memory;
  memory.gpu_count = gpus;
  memory.host_memory_bytes = host_mib * kMiB;
  memory.gpu_free_bytes = [gpus, free_mib](int ordinal, std::string& why_not) -> std::optional<uint64_t> {
    if (ordinal < gpus) return free_mib * kMiB;
    why_not = "no such device (the driver reports " + std::to_string(gpus) + " CUDA devices)";
    return std::nullopt;
  };
  return memory;
}

citadel::config::HostConfig host_with(std::vector<DeviceSpec> devices) {
  citadel::config::HostConfig host;
  host.source_file = "/etc/citadel/citadel.yaml";
  for (size_t i = 0; i < devices.size(); ++i) devices[i].where = {host.source_file, int(i) + 3};
  host.devices = std::move(devices);
  host.gpu_memory_utilization = 0.5;
  host.cpu_cache_mb = 32;
  return host;
}

std::string describe(const std::vector<PlannedPool>& plan) {
  std::string text;
  for (const PlannedPool& pool : plan) {
    text += pool.name + "@" + pool.physical + "=" + std::to_string(pool.budget_bytes / kMiB) + " ";
  }
  return text;
}

}  // namespace

TEST_CASE("logical devices on one GPU take their pool_mb and share the rest of its budget", "[cache][devices]") {
  // cuda:0 has 10000 MiB free; gpu_memory_utilization 0.5 -> a budget of 5000 MiB.
  auto host = host_with({{"cuda:0/a", "cuda:0", 2000}, {"cuda:0/b", "cuda:0"}, {"cuda:0/c", "cuda:0"},
                         {"cuda:1", "cuda:1"}, {"cpu/a", "cpu", 64}, {"cpu/b", "cpu"}});
  CHECK(describe(plan_device_pools(host, machine(2, 10000, 65536))) ==
        "cuda:0/a@cuda:0=2000 cuda:0/b@cuda:0=1500 cuda:0/c@cuda:0=1500 cuda:1@cuda:1=5000 "
        "cpu/a@cpu=64 cpu/b@cpu=32 cpu@cpu=32 ");
  // Plain devices, as before logical ones existed.
  host = host_with({{"cpu", "cpu"}, {"cuda:0", "cuda:0"}});
  CHECK(describe(plan_device_pools(host, machine(1, 10000, 65536))) == "cuda:0@cuda:0=5000 cpu@cpu=32 ");
  host = host_with({});
  CHECK(describe(plan_device_pools(host, machine(2, 4000, 65536))) == "cuda:0@cuda:0=2000 cuda:1@cuda:1=2000 cpu@cpu=32 ");
}

TEST_CASE("pools that exceed their device and absent devices are errors naming the entry", "[cache][devices]") {
  auto host = host_with({{"cuda:0/a", "cuda:0", 3000}, {"cuda:0/b", "cuda:0", 3000}});
  CHECK_THROWS_WITH(plan_device_pools(host, machine(1, 10000, 65536)),
                    "/etc/citadel/citadel.yaml:4: devices[1].pool_mb: the pools on cuda:0 (cuda:0/a 3000 MiB, "
                    "cuda:0/b 3000 MiB) exceed its budget of 5000 MiB (gpu_memory_utilization 0.500000 of the "
                    "memory free at start)");
  host = host_with({{"cuda:0/a", "cuda:0", 5000}, {"cuda:0/b", "cuda:0"}});
  CHECK_THROWS_WITH(plan_device_pools(host, machine(1, 10000, 65536)),
                    Catch::StartsWith("/etc/citadel/citadel.yaml:4: devices[1]: the pools on cuda:0 (cuda:0/a "
                                      "5000 MiB, cuda:0/b) exceed its budget"));
  host = host_with({{"cpu", "cpu"}, {"gpu-a", "cuda:3", 100}});
  CHECK_THROWS_WITH(plan_device_pools(host, machine(2, 10000, 65536)),
                    "/etc/citadel/citadel.yaml:4: devices[1]: cuda:3 is not available: no such device (the driver "
                    "reports 2 CUDA devices)");
  host = host_with({{"cpu/a", "cpu", 3000}, {"cpu/b", "cpu", 1000}});
  CHECK_THROWS_WITH(plan_device_pools(host, machine(0, 0, 3500)),
                    "/etc/citadel/citadel.yaml:4: devices[1].pool_mb: the pools on cpu (cpu/a 3000 MiB, cpu/b 1000 "
                    "MiB) exceed the host's memory of 3500 MiB");
  // The plain cpu pool (cpu_cache_mb) counts too.
  CHECK_THROWS_WITH(plan_device_pools(host, machine(0, 0, 4010)),
                    Catch::EndsWith("devices: the pools on cpu (cpu/a 3000 MiB, cpu/b 1000 MiB, cpu 32 MiB) exceed "
                                    "the host's memory of 4010 MiB"));
}

TEST_CASE("two logical CPU devices: a pool each, auto takes the one with more free memory", "[cache][devices]") {
  auto host = host_with({{"cpu/a", "cpu", 16}, {"cpu/b", "cpu", 16}});
  CacheManager manager(host);
  CHECK(manager.devices() == std::vector<std::string>{"cpu/a", "cpu/b", "cpu"});
  CHECK(manager.physical_device("cpu/b") == "cpu");
  CHECK(manager.physical_device("cpu") == "cpu");
  CHECK(manager.pool("cpu/a").stats().budget_bytes == 16 * kMiB);
  CHECK(manager.pool("cpu").stats().budget_bytes == 32 * kMiB);

  // Equal: the first listed. Then a floor on cpu/a makes cpu/b the freer one.
  CHECK(manager.choose_auto_device().device == "cpu/a");
  auto floor = manager.create_space("cpu/a", citadel::cache::test::space_settings("big", 64 << 10, 16, 10));
  const CacheManager::AutoDevice choice = manager.choose_auto_device();
  CHECK(choice.device == "cpu/b");
  CHECK(choice.reason == "the device with the most free cache pool memory (cpu/a 6 MiB, cpu/b 16 MiB free)");
  CHECK(manager.resolve_device("auto") == "cpu/b");
  // A device being removed by a reload is never chosen.
  CHECK(manager.choose_auto_device({"cpu/b"}).device == "cpu/a");
  CHECK(manager.choose_auto_device({"cpu/a", "cpu/b"}).device == "cpu");
  // A replica of the same model on cpu/b already: the next goes to cpu/a.
  const CacheManager::AutoDevice spread = manager.choose_auto_device({}, {{"cpu/b", 1}});
  CHECK(spread.device == "cpu/a");
  CHECK(spread.reason == "the device with the fewest replicas of this model (0) and with the most free cache pool "
                         "memory (cpu/a 6 MiB, cpu/b 16 MiB free)");
  CHECK(manager.choose_auto_device({}, {{"cpu/b", 1}, {"cpu/a", 1}}).device == "cpu/b");

  auto second = manager.create_space("auto", citadel::cache::test::space_settings("second", 64 << 10, 8));
  std::vector<citadel::cache::BlockId> blocks;
  REQUIRE(second->allocate(10, blocks));
  const auto json = manager.stats_json();
  const auto& pools = json.at("devices").as_array();
  REQUIRE(pools.size() == 3);
  CHECK(pools.at(1).at("device").as_string() == "cpu/b");
  CHECK(pools.at(1).at("physical_device").as_string() == "cpu");
  CHECK(pools.at(1).at("spaces").at(0).at("model").as_string() == "second");
  CHECK(pools.at(1).at("used_bytes").as_uint64() == 10 * (64 << 10));
  CHECK(pools.at(0).at("used_bytes").as_uint64() == 0);
  CHECK_THROWS_WITH(manager.resolve_device("cpu/c"), Catch::Contains("cpu/c") && Catch::Contains("cpu/a, cpu/b, cpu"));
}

#ifdef CITADEL_HAVE_CUDA
TEST_CASE("two logical devices on cuda:0: a VMM pool each with its own budget", "[cache][cuda][devices]") {
  auto host = host_with({{"cuda:0/a", "cuda:0", 256}, {"cuda:0/b", "cuda:0", 128}});
  CacheManager manager(host);
  CHECK(manager.devices() == std::vector<std::string>{"cuda:0/a", "cuda:0/b", "cpu"});
  CHECK(manager.physical_device("cuda:0/b") == "cuda:0");
  CHECK(manager.pool("cuda:0/a").stats().budget_bytes == 256 * kMiB);
  CHECK(manager.pool("cuda:0/b").stats().budget_bytes == 128 * kMiB);
  CHECK(manager.choose_auto_device().device == "cuda:0/a");
  auto a = manager.create_space("auto", citadel::cache::test::space_settings("a", 1 << 20, 200));
  std::vector<citadel::cache::BlockId> blocks;
  REQUIRE(a->allocate(150, blocks));
  CHECK(manager.choose_auto_device().device == "cuda:0/b");  // a's 150 MiB mapped on cuda:0/a
  auto b = manager.create_space("auto", citadel::cache::test::space_settings("b", 1 << 20, 0));  // up to its device budget
  std::vector<citadel::cache::BlockId> more;
  REQUIRE(b->allocate(100, more));
  CHECK(manager.pool("cuda:0/a").stats().used_bytes == 150 * kMiB);
  CHECK(manager.pool("cuda:0/b").stats().used_bytes == 100 * kMiB);
  std::vector<citadel::cache::BlockId> too_many;
  CHECK_FALSE(b->allocate(40, too_many));  // cuda:0/b's budget, not the GPU's
  manager.pool("cuda:0/a").check_invariants();
  manager.pool("cuda:0/b").check_invariants();
}
#endif
