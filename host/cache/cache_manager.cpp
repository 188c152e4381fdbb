// CacheManager: one pool per planned device (device_pool_plan.h), the swap
// tier, placement of spaces, and the stats the admin `pool` command prints.
#include "host/cache/cache_manager.h"

#include <boost/json.hpp>

#include <algorithm>

namespace citadel::cache {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// "cuda" -> "cuda:0"; everything else unchanged.
std::string normalized(const std::string& device) { return device == "cuda" ? "cuda:0" : device; }

}  // namespace

CacheManager::CacheManager(const config::HostConfig& host, CacheManagerOptions options)
    : CacheManager(host, DeviceMemory::of_this_machine(), options) {}

CacheManager::CacheManager(const config::HostConfig& host, const DeviceMemory& memory, CacheManagerOptions options)
    : options_(options) {
  const std::string where = host.source_file.empty() ? "host configuration" : host.source_file;
  std::map<std::string, std::shared_ptr<PageBackend>> backends;
  std::shared_ptr<PageBackend> swap_memory;  // the first GPU's (pinned), else the plain cpu pool's
  for (const PlannedPool& planned : plan_device_pools(host, memory)) {
    std::shared_ptr<PageBackend> backend;
    if (planned.ordinal >= 0) {
      std::string why_not;
      backend = make_cuda_page_backend(planned.ordinal, planned.budget_bytes, planned.name, why_not);
      if (!backend) {
        throw std::runtime_error(where + ": devices: " + planned.name + " (" + planned.physical +
                                 ") is not available: " + why_not);
      }
      if (!swap_memory) swap_memory = backend;
    } else {
      backend = make_cpu_page_backend(planned.budget_bytes,
                                      std::max<uint64_t>(planned.budget_bytes, 64 * kMiB) * options_.reservation_factor,
                                      planned.name);
      if (planned.name == "cpu" && !swap_memory) swap_memory = backend;
    }
    backends[planned.name] = backend;
    physical_[planned.name] = planned.physical;
    order_.push_back(planned.name);
  }
  const uint64_t swap_bytes = static_cast<uint64_t>(host.swap_space_gb * double(uint64_t{1} << 30));
  swap_tier_ = std::make_shared<HostSwapTier>(swap_bytes, swap_memory, swap_memory->physical_device() != "cpu");
  for (auto& [device, backend] : backends) {
    pools_[device] = std::make_shared<DevicePool>(backend, swap_tier_, options_.pool);
  }
}

CacheManager::AutoDevice CacheManager::choose_auto_device(const std::vector<std::string>& excluded,
                                                          const std::map<std::string, uint32_t>& siblings) const {
  // GPU pools when there are any, else the logical CPU devices, else the cpu.
  std::vector<std::string> candidates;
  for (bool gpu : {true, false}) {
    for (const std::string& name : order_) {
      const bool on_gpu = physical_.at(name) != "cpu";
      if (on_gpu != gpu || name == "cpu") continue;
      if (std::find(excluded.begin(), excluded.end(), name) != excluded.end()) continue;
      candidates.push_back(name);
    }
    if (!candidates.empty()) break;
  }
  AutoDevice choice;
  if (candidates.empty()) {
    choice.device = "cpu";
    choice.reason = "no CUDA device in this host (devices: cpu)";
    return choice;
  }
  auto siblings_on = [&](const std::string& name) {
    auto found = siblings.find(name);
    return found == siblings.end() ? uint32_t{0} : found->second;
  };
  uint64_t best_free = 0;
  std::string free_list;
  for (const std::string& name : candidates) {
    const uint64_t unclaimed = pools_.at(name)->unclaimed_bytes();
    free_list += (free_list.empty() ? "" : ", ") + name + " " + std::to_string(unclaimed / kMiB) + " MiB";
    const bool better = choice.device.empty() || siblings_on(name) < siblings_on(choice.device) ||
                        (siblings_on(name) == siblings_on(choice.device) && unclaimed > best_free);
    if (better) {
      choice.device = name;
      best_free = unclaimed;
    }
  }
  const bool gpu = physical_.at(choice.device) != "cpu";
  choice.reason = std::string(gpu ? "the GPU" : "the device") +
                  (siblings.empty() ? "" : " with the fewest replicas of this model (" +
                                               std::to_string(siblings_on(choice.device)) + ") and") +
                  " with the most free cache pool memory (" + free_list + " free)";
  return choice;
}

std::string CacheManager::resolve_device(const std::string& requested) const {
  const std::string device = normalized(requested);
  if (device == "auto" || device.empty()) return choose_auto_device().device;
  if (pools_.count(device) == 0) {
    std::string known;
    for (const std::string& name : order_) known += (known.empty() ? "" : ", ") + name;
    throw std::runtime_error("cache device '" + device + "' is not available (devices: " + known + ")");
  }
  return device;
}

std::shared_ptr<CacheSpace> CacheManager::create_space(const std::string& device, const CacheSpaceSettings& settings) {
  return pools_.at(resolve_device(device))->create_space(settings);
}

std::shared_ptr<DeviceClaim> CacheManager::claim(const std::string& physical, const std::string& near,
                                                  const std::string& model, uint64_t bytes) {
  std::string chosen;
  if (physical_.count(near) != 0 && physical_.at(near) == physical) {
    chosen = near;
  } else if (pools_.count(physical) != 0) {
    chosen = physical;
  } else {
    for (const std::string& device : order_) {
      if (physical_.at(device) == physical) {
        chosen = device;
        break;
      }
    }
  }
  if (chosen.empty()) {
    throw std::runtime_error("no cache pool lies on " + physical + " (citadel.yaml devices)");
  }
  return pools_.at(chosen)->claim(model, bytes);
}

std::vector<std::string> CacheManager::devices() const { return order_; }

std::string CacheManager::physical_device(const std::string& device) const {
  return physical_.at(resolve_device(device));
}

DevicePool& CacheManager::pool(const std::string& device) const { return *pools_.at(resolve_device(device)); }

void CacheManager::run_gc_now() {
  for (auto& [device, pool] : pools_) pool->run_gc_now();
}

uint64_t CacheManager::compact_all(bool move_live) {
  uint64_t moved = 0;
  for (auto& [device, pool] : pools_) moved += pool->compact("", move_live);
  return moved;
}

std::vector<PoolStats> CacheManager::stats() const {
  std::vector<PoolStats> all;
  for (const std::string& device : order_) all.push_back(pools_.at(device)->stats());
  return all;
}

SwapTierStats CacheManager::swap_stats() const { return swap_tier_->stats(); }

boost::json::object CacheManager::stats_json() const {
  boost::json::array devices;
  for (const PoolStats& pool : stats()) devices.push_back(to_json(pool));
  return {{"devices", std::move(devices)}, {"swap", to_json(swap_stats())}};
}

}  // namespace citadel::cache
