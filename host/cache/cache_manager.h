// CacheManager: every device's cache pool in one place. Built from the host
// configuration: one pool per entry of `devices` — a physical device ("cpu",
// "cuda:N") or a logical device backed by one, with its own budget (sizes:
// device_pool_plan.h) — and the "cpu" pool (cpu_cache_mb) always; with
// `devices` empty, every CUDA device found. Owns the host swap tier
// (swap_space_gb) shared by all pools.
//
// Called by: host/core (creates spaces per model instance, reload), host/admin
// (`pool` command: stats_json), metrics. Thread-safe. Spaces stay valid after
// the manager is gone (they hold their pool); destroying a space gives its
// blocks, pages and swap tickets back.
#pragma once

#include "host/cache/cache_space.h"
#include "host/cache/device_pool.h"
#include "host/cache/device_pool_plan.h"
#include "host/cache/host_swap_tier.h"
#include "host/cache/pool_stats.h"
#include "host/config/model_config.h"

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace citadel::cache {

struct CacheManagerOptions {
  PoolOptions pool;
  // Virtual reservation per pool, as a multiple of its budget (room for
  // slabs of different sizes side by side).
  uint32_t reservation_factor = 4;
};

class CacheManager {
 public:
  // Throws std::runtime_error naming the device when a requested cuda:N is
  // absent or unusable (no driver, no VMM), or a device name is malformed.
  explicit CacheManager(const config::HostConfig& host, CacheManagerOptions options = {});
  // The same with the machine's memory as given (tests of the sizing rules).
  CacheManager(const config::HostConfig& host, const DeviceMemory& memory, CacheManagerOptions options = {});

  // Where a model with `device: auto` goes: the GPU-backed device whose pool
  // has the most unclaimed budget (ties: the first in `devices`); without
  // one, the logical CPU device with the most; else "cpu". Devices in
  // `excluded` (removed from citadel.yaml, gone at the next restart) are not
  // chosen. `siblings` counts the replicas of the same model already placed
  // per device: fewer goes first, so replicas spread over the devices even
  // when they take no memory up front. `reason` is one line for the log.
  struct AutoDevice {
    std::string device;
    std::string reason;
  };
  AutoDevice choose_auto_device(const std::vector<std::string>& excluded = {},
                                const std::map<std::string, uint32_t>& siblings = {}) const;

  // "auto" (or "") -> choose_auto_device().device; other names must be pools
  // of this manager.
  std::string resolve_device(const std::string& device) const;

  // Creates a model's cache space on `device` (resolved as above). Throws
  // CacheBudgetError with a message naming the model and field when the
  // budget cannot be met, std::runtime_error for an unknown device.
  std::shared_ptr<CacheSpace> create_space(const std::string& device, const CacheSpaceSettings& settings);

  // Takes `bytes` off the budget of a pool on the physical device
  // `physical` ("cpu", "cuda:N") for `model` (DevicePool::claim): `near`'s
  // pool when it lies on that device, else the pool named `physical`, else
  // the first one backed by it. Throws std::runtime_error when no pool lies
  // on that device.
  std::shared_ptr<DeviceClaim> claim(const std::string& physical, const std::string& near,
                                     const std::string& model, uint64_t bytes);

  std::vector<std::string> devices() const;  // GPU-backed first, the plain "cpu" last
  // The physical device ("cpu", "cuda:N") behind a device name (resolved as
  // above): what the model's plugin runs on.
  std::string physical_device(const std::string& device) const;
  DevicePool& pool(const std::string& device) const;  // throws for unknown devices
  HostSwapTier* swap_tier() const { return swap_tier_.get(); }

  // Maintenance over every pool.
  void run_gc_now();
  uint64_t compact_all(bool move_live);

  std::vector<PoolStats> stats() const;
  SwapTierStats swap_stats() const;
  // {"devices": [...PoolStats...], "swap": {...}} for the admin `pool` command.
  boost::json::object stats_json() const;

 private:
  CacheManagerOptions options_;
  std::shared_ptr<HostSwapTier> swap_tier_;
  std::map<std::string, std::shared_ptr<DevicePool>> pools_;  // by device name
  std::map<std::string, std::string> physical_;               // device name -> physical device
  std::vector<std::string> order_;                            // GPU-backed first, then cpu
};

}  // namespace citadel::cache
