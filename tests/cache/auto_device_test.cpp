// device: auto — the CacheManager's choice: a CUDA device when the host has
// one (the one with the most unclaimed pool budget), else the CPU, with a
// reason for the log. On a machine without a GPU (CI) that is the CPU.
#include "cache_test_support.hpp"
#include "host/cache/cache_manager.h"

#include <catch2/catch.hpp>

using citadel::cache::CacheManager;

TEST_CASE("device auto resolves to the CPU when the host has no CUDA device", "[cache]") {
  citadel::config::HostConfig host;
  host.devices = {{"cpu", "cpu"}};
  host.cpu_cache_mb = 16;
  const CacheManager manager(host);
  const CacheManager::AutoDevice choice = manager.choose_auto_device();
  CHECK(choice.device == "cpu");
  CHECK_THAT(choice.reason, Catch::Contains("no CUDA device"));
  CHECK(manager.resolve_device("auto") == "cpu");
  CHECK(manager.resolve_device("") == "cpu");
  CHECK(manager.resolve_device("cpu") == "cpu");
}

TEST_CASE("with devices empty, device auto takes a GPU if there is one, else the CPU", "[cache]") {
  citadel::config::HostConfig host;  // devices: [] — every GPU found
  host.cpu_cache_mb = 16;
  host.gpu_memory_utilization = 0.05;
  const CacheManager manager(host);
  const CacheManager::AutoDevice choice = manager.choose_auto_device();
  INFO(choice.reason);
  if (citadel::cache::cuda_device_count() == 0) {
    CHECK(manager.devices() == std::vector<std::string>{"cpu"});
    CHECK(choice.device == "cpu");
  } else {
    CHECK(choice.device.starts_with("cuda:"));
    CHECK_THAT(choice.reason, Catch::Contains("most free cache pool memory"));
  }
}
