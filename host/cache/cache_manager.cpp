// CacheManager: device discovery from the host configuration, the swap tier,
// placement of spaces, and the stats the admin `pool` command prints.
#include "host/cache/cache_manager.h"

#include <boost/json.hpp>

#include <charconv>

namespace citadel::cache {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// "cuda" -> "cuda:0"; everything else unchanged.
std::string normalized(const std::string& device) { return device == "cuda" ? "cuda:0" : device; }

// "cuda:3" -> 3; -1 for anything else.
int cuda_ordinal(const std::string& device) {
  if (device.rfind("cuda:", 0) != 0 || device.size() == 5) return -1;
  int ordinal = -1;
  auto [end, error] = std::from_chars(device.data() + 5, device.data() + device.size(), ordinal);
  if (error != std::errc() || end != device.data() + device.size() || ordinal < 0) return -1;
  return ordinal;
}

}  // namespace

CacheManager::CacheManager(const config::HostConfig& host, CacheManagerOptions options) : options_(options) {
  const std::string where = host.source_file.empty() ? "host configuration" : host.source_file;
  std::vector<std::string> wanted;
  for (const std::string& device : host.devices) wanted.push_back(normalized(device));
  bool automatic = wanted.empty();
  if (automatic) {
    for (int i = 0; i < cuda_device_count(); ++i) wanted.push_back("cuda:" + std::to_string(i));
  }
  if (host.gpu_memory_utilization <= 0 || host.gpu_memory_utilization > 1) {
    throw std::runtime_error(where + ": gpu_memory_utilization " + std::to_string(host.gpu_memory_utilization) +
                             " must lie in (0, 1]");
  }
  std::map<std::string, std::shared_ptr<PageBackend>> backends;
  for (const std::string& device : wanted) {
    if (device == "cpu" || backends.count(device) != 0) continue;
    int ordinal = cuda_ordinal(device);
    if (ordinal < 0) throw std::runtime_error(where + ": devices: '" + device + "' is neither cpu nor cuda:N");
    std::string why_not;
    std::unique_ptr<PageBackend> backend = make_cuda_page_backend(ordinal, host.gpu_memory_utilization, why_not);
    if (!backend) {
      if (automatic) continue;
      throw std::runtime_error(where + ": devices: " + device + " is not available: " + why_not);
    }
    backends[device] = std::move(backend);
    order_.push_back(device);
  }
  const uint64_t cpu_budget = host.cpu_cache_mb * kMiB;
  backends["cpu"] = make_cpu_page_backend(cpu_budget, std::max<uint64_t>(cpu_budget, 64 * kMiB) *
                                                          options_.reservation_factor);
  order_.push_back("cpu");

  // The swap tier takes its host memory from the first CUDA backend (pinned)
  // or else from the CPU one.
  std::shared_ptr<PageBackend> host_memory = backends[order_.front()];
  const uint64_t swap_bytes = static_cast<uint64_t>(host.swap_space_gb * double(uint64_t{1} << 30));
  swap_tier_ = std::make_shared<HostSwapTier>(swap_bytes, host_memory, order_.front() != "cpu");
  for (auto& [device, backend] : backends) {
    pools_[device] = std::make_shared<DevicePool>(backend, swap_tier_, options_.pool);
  }
}

CacheManager::AutoDevice CacheManager::choose_auto_device() const {
  AutoDevice choice;
  uint64_t best_free = 0;
  std::string free_list;
  for (const std::string& name : order_) {
    if (name == "cpu") continue;
    const uint64_t unclaimed = pools_.at(name)->unclaimed_bytes();
    free_list += (free_list.empty() ? "" : ", ") + name + " " + std::to_string(unclaimed / kMiB) + " MiB";
    if (choice.device.empty() || unclaimed > best_free) {
      choice.device = name;
      best_free = unclaimed;
    }
  }
  if (choice.device.empty()) {
    choice.device = "cpu";
    choice.reason = "no CUDA device in this host (devices: cpu)";
  } else {
    choice.reason = "the GPU with the most free cache pool memory (" + free_list + " free)";
  }
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

std::vector<std::string> CacheManager::devices() const { return order_; }

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
