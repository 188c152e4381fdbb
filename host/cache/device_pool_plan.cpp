// Pool sizes per device. See device_pool_plan.h.
#include "host/cache/device_pool_plan.h"

#include "host/cache/page_backend.h"

#include <unistd.h>

#include <map>
#include <stdexcept>

namespace citadel::cache {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kMinimumPoolBytes = 2 * kMiB;  // one page

std::string mib(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

// "citadel.yaml:7: devices[1]" for an entry, the file alone without a line.
std::string where(const config::HostConfig& host, const config::DeviceSpec& spec, size_t index) {
  const std::string file = host.source_file.empty() ? "host configuration" : host.source_file;
  if (spec.where.line == 0) return file + ": devices";
  return file + ":" + std::to_string(spec.where.line) + ": devices[" + std::to_string(index) + "]";
}

int ordinal_of(const std::string& physical) {
  return physical.rfind("cuda:", 0) == 0 ? std::stoi(physical.substr(5)) : -1;
}

// The entries of one physical GPU, sized: pool_mb where given, the rest shared.
void size_gpu_pools(const config::HostConfig& host, const std::vector<size_t>& entries, uint64_t budget,
                    const std::vector<config::DeviceSpec>& specs, std::vector<PlannedPool>& out) {
  uint64_t sized = 0;
  size_t unsized = 0;
  std::string listing;
  for (size_t index : entries) {
    const config::DeviceSpec& spec = specs[index];
    if (!listing.empty()) listing += ", ";
    listing += spec.name;
    if (spec.pool_mb) {
      listing += ' ';
      listing += mib(spec.pool_mb * kMiB);
    }
    if (spec.pool_mb == 0) ++unsized;
    sized += spec.pool_mb * kMiB;
    const bool over = sized > budget || (unsized > 0 && budget - std::min(sized, budget) < unsized * kMinimumPoolBytes);
    if (over) {
      throw std::runtime_error(where(host, spec, index) + (spec.pool_mb ? ".pool_mb" : "") + ": the pools on " +
                               spec.physical + " (" + listing + ") exceed its budget of " + mib(budget) +
                               " (gpu_memory_utilization " + std::to_string(host.gpu_memory_utilization) +
                               " of the memory free at start)");
    }
  }
  const uint64_t share = unsized == 0 ? 0 : (budget - sized) / unsized;
  for (size_t index : entries) {
    const config::DeviceSpec& spec = specs[index];
    out.push_back({spec.name, spec.physical, ordinal_of(spec.physical), spec.pool_mb ? spec.pool_mb * kMiB : share});
  }
}

}  // namespace

DeviceMemory DeviceMemory::of_this_machine() {
  DeviceMemory memory;
  memory.gpu_count = cuda_device_count();
  memory.gpu_free_bytes = [](int ordinal, std::string& why_not) -> std::optional<uint64_t> {
    uint64_t free_bytes = 0, total_bytes = 0;
    if (cuda_memory_info(ordinal, free_bytes, total_bytes)) return free_bytes;
    make_cuda_page_backend(ordinal, 0.0, why_not);  // only for its reason
    if (why_not.empty()) why_not = "cudaMemGetInfo failed";
    return std::nullopt;
  };
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) memory.host_memory_bytes = uint64_t(pages) * uint64_t(page_size);
  return memory;
}

std::vector<PlannedPool> plan_device_pools(const config::HostConfig& host, const DeviceMemory& memory) {
  const std::string file = host.source_file.empty() ? "host configuration" : host.source_file;
  if (host.gpu_memory_utilization <= 0 || host.gpu_memory_utilization > 1) {
    throw std::runtime_error(file + ": gpu_memory_utilization " + std::to_string(host.gpu_memory_utilization) +
                             " must lie in (0, 1]");
  }
  std::vector<config::DeviceSpec> specs = host.devices;
  const bool automatic = specs.empty();
  if (automatic) {
    for (int i = 0; i < memory.gpu_count; ++i) specs.push_back({"cuda:" + std::to_string(i), "cuda:" + std::to_string(i)});
  }
  bool has_plain_cpu = false;
  for (const config::DeviceSpec& spec : specs) has_plain_cpu = has_plain_cpu || spec.name == "cpu";
  if (!has_plain_cpu) specs.push_back({"cpu", "cpu"});

  std::vector<PlannedPool> plan;
  std::map<std::string, std::vector<size_t>> gpu_entries;  // physical -> entries, in list order
  std::vector<std::string> gpu_order;
  for (size_t index = 0; index < specs.size(); ++index) {
    const std::string& physical = specs[index].physical;
    if (physical == "cpu") continue;
    if (ordinal_of(physical) < 0) {
      throw std::runtime_error(where(host, specs[index], index) + ": '" + physical + "' is neither cpu nor cuda:N");
    }
    if (gpu_entries[physical].empty()) gpu_order.push_back(physical);
    gpu_entries[physical].push_back(index);
  }
  for (const std::string& physical : gpu_order) {
    const std::vector<size_t>& entries = gpu_entries[physical];
    std::string why_not;
    const std::optional<uint64_t> free_bytes = memory.gpu_free_bytes(ordinal_of(physical), why_not);
    if (!free_bytes) {
      if (automatic) continue;
      throw std::runtime_error(where(host, specs[entries.front()], entries.front()) + ": " + physical +
                               " is not available: " + why_not);
    }
    const uint64_t budget = static_cast<uint64_t>(host.gpu_memory_utilization * double(*free_bytes));
    size_gpu_pools(host, entries, budget, specs, plan);
  }

  // CPU pools: the logical ones in list order, the plain cpu last; together
  // within the host's memory.
  auto cpu_bytes = [&](const config::DeviceSpec& spec) { return (spec.pool_mb ? spec.pool_mb : host.cpu_cache_mb) * kMiB; };
  uint64_t cpu_total = 0;
  std::string cpu_listing;
  for (size_t index = 0; index < specs.size(); ++index) {
    const config::DeviceSpec& spec = specs[index];
    if (spec.physical != "cpu") continue;
    cpu_total += cpu_bytes(spec);
    cpu_listing += (cpu_listing.empty() ? "" : ", ") + spec.name + " " + mib(cpu_bytes(spec));
    if (memory.host_memory_bytes != 0 && cpu_total > memory.host_memory_bytes) {
      throw std::runtime_error(where(host, spec, index) + (spec.pool_mb ? ".pool_mb" : "") + ": the pools on cpu (" +
                               cpu_listing + ") exceed the host's memory of " + mib(memory.host_memory_bytes));
    }
    if (spec.name != "cpu") plan.push_back({spec.name, "cpu", -1, cpu_bytes(spec)});
  }
  for (const config::DeviceSpec& spec : specs) {
    if (spec.name == "cpu") plan.push_back({"cpu", "cpu", -1, cpu_bytes(spec)});
  }
  return plan;
}

}  // namespace citadel::cache
