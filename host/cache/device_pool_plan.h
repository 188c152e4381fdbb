// DevicePoolPlan: which cache pools the host makes and how large each is,
// from citadel.yaml `devices` (plain and logical devices) and the memory each
// physical device has. Several logical devices may share one GPU or the CPU;
// each gets a pool (and a budget) of its own.
//
// Rules: a GPU's budget is gpu_memory_utilization of the memory free at
// start; its entries with `pool_mb` take that much of it and the others share
// the rest equally. CPU entries take `pool_mb` (default cpu_cache_mb) each,
// and all CPU pools together must fit in the host's physical memory. The
// plain "cpu" pool always exists. With `devices` empty: every GPU found
// (those that cannot be used are skipped) and the cpu.
//
// Called by CacheManager (at start) and the tests. Throws std::runtime_error
// naming citadel.yaml's line and field when a device is missing or the sizes
// do not fit.
#pragma once

#include "host/config/model_config.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace citadel::cache {

struct PlannedPool {
  std::string name;      // the device name models and stats use
  std::string physical;  // "cpu" or "cuda:N"
  int ordinal = -1;      // CUDA ordinal; -1 for the CPU
  uint64_t budget_bytes = 0;
};

// What the plan needs to know about the machine.
struct DeviceMemory {
  // Free bytes of GPU `ordinal` now, or nullopt with `why_not` set when it
  // cannot be used (absent, no driver, no VMM).
  std::function<std::optional<uint64_t>(int ordinal, std::string& why_not)> gpu_free_bytes;
  int gpu_count = 0;             // for `devices` empty
  uint64_t host_memory_bytes = 0;  // physical memory of the machine; 0: unknown (not checked)
  static DeviceMemory of_this_machine();
};

// GPU pools first (in the order of `devices`), then CPU pools, the plain
// "cpu" last.
std::vector<PlannedPool> plan_device_pools(const config::HostConfig& host, const DeviceMemory& memory);

}  // namespace citadel::cache
