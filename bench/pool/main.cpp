// bench_pool: prints the cache pool's figures for the CPU backend and, when
// there is a GPU, for cuda:0 — block alloc/free latency from mapped pages,
// page-grow latency against the raw OS/driver cost, used/mapped under a churn
// trace, swap bandwidth against raw copies, and an elastic-sharing scenario
// against a static 50/50 split. `--quick` shrinks every size (smoke runs).
#include "host/cache/device_pool.h"
#include "host/cache/page_backend.h"
#include "raw_costs.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>

using namespace citadel::cache;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

struct Target {
  std::string device;
  std::function<std::shared_ptr<PageBackend>(uint64_t budget)> make_backend;
  bool quick = false;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(fraction * double(values.size())))];
}

std::shared_ptr<DevicePool> make_pool(const Target& target, uint64_t budget, uint64_t swap_bytes, uint32_t spare) {
  std::shared_ptr<PageBackend> backend = target.make_backend(budget);
  auto tier = std::make_shared<HostSwapTier>(swap_bytes, backend, target.device != "cpu");
  return std::make_shared<DevicePool>(backend, tier, PoolOptions{.background_gc = false, .spare_empty_slabs = spare});
}

CacheSpaceSettings settings(const std::string& model, uint64_t block_bytes, uint64_t size_mb, uint64_t reserved_mb = 0) {
  CacheSpaceSettings result;
  result.model = model;
  result.geometry = {16, block_bytes};
  result.cache.size_mb = size_mb;
  result.cache.reserved_mb = reserved_mb;
  result.cache.gc_threshold = 1.0;  // no GC inside the measurements
  return result;
}

void block_latency(const Target& target) {
  const uint64_t budget = 1024 * kMiB;
  auto pool = make_pool(target, budget, 0, 1u << 20);
  auto space = pool->create_space(settings("m", 256 << 10, 1024));
  std::vector<BlockId> held;
  if (!space->allocate(4096, held)) throw std::runtime_error("block_latency: cannot map 1 GiB");
  space->release(held);  // every page stays mapped (spare slabs)
  held.clear();
  std::mt19937_64 random(7);
  const int operations = target.quick ? 20000 : 200000;
  std::vector<double> allocate_times, release_times;
  std::vector<BlockId> out;
  for (int i = 0; i < operations; ++i) {
    if (held.size() < 2048 && (held.size() < 64 || random() % 2 == 0)) {
      out.clear();
      auto start = Clock::now();
      space->allocate(1, out);
      allocate_times.push_back(seconds_since(start));
      held.push_back(out[0]);
    } else {
      size_t index = random() % held.size();
      BlockId block = held[index];
      held[index] = held.back();
      held.pop_back();
      auto start = Clock::now();
      space->release(std::span(&block, 1));
      release_times.push_back(seconds_since(start));
    }
  }
  std::printf("%-7s block allocate (mapped pages)  p50 %7.3f us  p99 %7.3f us  (n=%zu)\n", target.device.c_str(),
              percentile(allocate_times, 0.5) * 1e6, percentile(allocate_times, 0.99) * 1e6, allocate_times.size());
  std::printf("%-7s block free                    p50 %7.3f us  p99 %7.3f us  (n=%zu)\n", target.device.c_str(),
              percentile(release_times, 0.5) * 1e6, percentile(release_times, 0.99) * 1e6, release_times.size());
}

void page_grow(const Target& target) {
  const size_t pages = target.quick ? 64 : 512;
  auto pool = make_pool(target, pages * 2 * kMiB, 0, 0);
  const uint64_t page_bytes = pool->backend().page_bytes();
  auto space = pool->create_space(settings("m", page_bytes, pages * page_bytes / kMiB));
  std::vector<double> grow;
  for (int round = 0; round < 3; ++round) {
    std::vector<BlockId> held;
    for (size_t i = 0; i < pages; ++i) {
      auto start = Clock::now();
      if (!space->allocate(1, held)) throw std::runtime_error("page_grow: allocation failed");
      grow.push_back(seconds_since(start));
    }
    space->release(held);  // spare 0: every page unmapped
  }
  std::vector<double> raw;
  for (int round = 0; round < 3; ++round) {
    std::vector<double> times = target.device == "cpu" ? citadel::bench::raw_cpu_page_map(pages, page_bytes)
                                                       : citadel::bench::raw_cuda_page_map(pages);
    raw.insert(raw.end(), times.begin(), times.end());
  }
  double p50 = percentile(grow, 0.5), p99 = percentile(grow, 0.99);
  double raw50 = percentile(raw, 0.5), raw99 = percentile(raw, 0.99);
  std::printf("%-7s page grow (allocate mapping 1 page)  p50 %8.2f us  p99 %8.2f us  (n=%zu)\n",
              target.device.c_str(), p50 * 1e6, p99 * 1e6, grow.size());
  std::printf("%-7s raw %s per page        p50 %8.2f us  p99 %8.2f us  -> pool/raw p50 %.2fx  p99 %.2fx\n",
              target.device.c_str(), target.device == "cpu" ? "mprotect              " : "create+map+set_access ",
              raw50 * 1e6, raw99 * 1e6, raw50 > 0 ? p50 / raw50 : 0.0, raw99 > 0 ? p99 / raw99 : 0.0);
}

void churn(const Target& target) {
  const uint64_t budget = (target.quick ? 256 : 4096) * kMiB;
  auto pool = make_pool(target, budget, 0, 1);
  auto a = pool->create_space(settings("a", 128 << 10, budget / kMiB));
  auto b = pool->create_space(settings("b", 320 << 10, budget / kMiB));  // 6 per page, 128 KiB waste
  std::mt19937_64 random(11);
  struct Request {
    CacheSpace* space;
    std::vector<BlockId> blocks;
  };
  std::vector<Request> running;
  double live_ratio = 0, occupied_ratio = 0;
  int samples = 0;
  const int steps = target.quick ? 20000 : 100000;
  PrefixHash next_hash = 1;
  for (int step = 0; step < steps; ++step) {
    CacheSpace* space = random() % 2 == 0 ? a.get() : b.get();
    Request request{space, {}};
    uint32_t blocks = 1 + random() % 64;
    if (space->allocate(blocks, request.blocks)) {
      if (random() % 4 == 0) {
        for (size_t i = 0; i < request.blocks.size() / 2; ++i) space->publish_prefix(request.blocks[i], next_hash++);
      }
      running.push_back(std::move(request));
    } else if (!running.empty()) {
      size_t index = random() % running.size();
      running[index].space->release(running[index].blocks);
      running[index] = std::move(running.back());
      running.pop_back();
    }
    if (step > steps / 10 && step % 10 == 0) {
      PoolStats stats = pool->stats();
      live_ratio += double(stats.used_bytes) / double(stats.mapped_bytes);
      occupied_ratio += double(stats.used_bytes + stats.cached_bytes) / double(stats.mapped_bytes);
      ++samples;
    }
  }
  PoolStats stats = pool->stats();
  std::printf("%-7s churn (2 models, %d steps): live/mapped %.1f%%  (live+cached)/mapped %.1f%%  "
              "page maps %lu unmaps %lu evictions %lu\n",
              target.device.c_str(), steps, 100 * live_ratio / samples, 100 * occupied_ratio / samples,
              static_cast<unsigned long>(stats.page_maps), static_cast<unsigned long>(stats.page_unmaps),
              static_cast<unsigned long>(stats.spaces[0].stats.evictions + stats.spaces[1].stats.evictions));
}

void swap_bandwidth(const Target& target) {
  const uint32_t count = target.quick ? 32 : 256;
  const uint64_t block = 2 * kMiB;
  auto pool = make_pool(target, (count + 8) * block, count * block, 1);
  auto space = pool->create_space(settings("m", block, (count + 8) * block / kMiB));
  std::vector<BlockId> blocks;
  if (!space->allocate(count, blocks)) throw std::runtime_error("swap_bandwidth: allocation failed");
  std::vector<uint8_t> data(block);
  std::mt19937_64 random(3);
  for (auto& byte : data) byte = static_cast<uint8_t>(random());
  for (BlockId id : blocks) pool->backend().copy_from_host(space->address(id), data.data(), block);
  pool->backend().synchronize();
  // Round 0 warms up; odd rounds swap in while the freed pages are still
  // mapped (the preempting request's case), even rounds after they were
  // given back (GC ran in between): then swap-in maps pages too.
  double out_rate = 0, in_rate = 0, in_unmapped_rate = 0;
  for (int round = 0; round < 5; ++round) {
    auto start = Clock::now();
    auto swapped = space->swap_out(blocks);
    double out_seconds = seconds_since(start);
    if (!swapped) throw std::runtime_error("swap_bandwidth: swap tier full");
    blocks.clear();
    bool unmapped = round % 2 == 0;
    if (unmapped) pool->compact("m", false);  // unmaps the emptied pages
    start = Clock::now();
    if (!space->swap_in(*swapped, blocks)) throw std::runtime_error("swap_bandwidth: swap_in failed");
    double in_seconds = seconds_since(start);
    if (round == 0) continue;
    out_rate = std::max(out_rate, double(count * block) / out_seconds);
    double& rate = unmapped ? in_unmapped_rate : in_rate;
    rate = std::max(rate, double(count * block) / in_seconds);
  }
  auto [raw_out, raw_in] = target.device == "cpu" ? citadel::bench::raw_cpu_copy(count, block)
                                                  : citadel::bench::raw_cuda_copy(count, block);
  std::printf("%-7s swap-out %6.1f GB/s (raw %6.1f GB/s, %.0f%%)  swap-in %6.1f GB/s (raw %6.1f GB/s, %.0f%%)  "
              "[%u x 2 MiB blocks]\n",
              target.device.c_str(), out_rate / 1e9, raw_out / 1e9, raw_out > 0 ? 100 * out_rate / raw_out : 0.0,
              in_rate / 1e9, raw_in / 1e9, raw_in > 0 ? 100 * in_rate / raw_in : 0.0, count);
  std::printf("%-7s swap-in into unmapped pages (maps them too) %6.1f GB/s (%.0f%% of raw)\n", target.device.c_str(),
              in_unmapped_rate / 1e9, raw_in > 0 ? 100 * in_unmapped_rate / raw_in : 0.0);
}

// Two models, alternating bursts that each want 75% of the device; the idle
// model keeps a trickle of 2 live requests. Returns admitted and rejected.
std::pair<int, int> elastic_run(const Target& target, bool elastic) {
  const uint64_t budget = (target.quick ? 256 : 8192) * kMiB;
  const uint64_t block = 256 << 10;
  const uint32_t request_blocks = static_cast<uint32_t>(budget / block / 64);  // 64 requests fill the device
  auto pool = make_pool(target, budget, 0, 1);
  const uint64_t size_mb = elastic ? budget / kMiB : budget / kMiB / 2;
  const uint64_t reserved_mb = elastic ? 0 : budget / kMiB / 2;
  std::shared_ptr<CacheSpace> spaces[2] = {pool->create_space(settings("a", block, size_mb, reserved_mb)),
                                           pool->create_space(settings("b", block, size_mb, reserved_mb))};
  std::vector<std::vector<BlockId>> trickle[2];
  int admitted = 0, rejected = 0;
  PrefixHash next_hash = 1;
  for (int phase = 0; phase < 8; ++phase) {
    CacheSpace& busy = *spaces[phase % 2];
    CacheSpace& idle = *spaces[1 - phase % 2];
    auto& idle_trickle = trickle[1 - phase % 2];
    while (idle_trickle.size() < 2) {
      std::vector<BlockId> blocks;
      if (!idle.allocate(request_blocks, blocks)) break;
      idle_trickle.push_back(std::move(blocks));
    }
    std::vector<std::vector<BlockId>> burst;
    for (int i = 0; i < 48; ++i) {
      std::vector<BlockId> blocks;
      if (busy.allocate(request_blocks, blocks)) {
        ++admitted;
        burst.push_back(std::move(blocks));
      } else {
        ++rejected;
      }
    }
    for (auto& blocks : burst) {  // finished: half of each request stays cached as a prefix
      for (size_t i = 0; i < blocks.size() / 2; ++i) busy.publish_prefix(blocks[i], next_hash++);
      busy.release(blocks);
    }
    auto& busy_trickle = trickle[phase % 2];
    for (auto& blocks : busy_trickle) busy.release(blocks);
    busy_trickle.clear();
  }
  return {admitted, rejected};
}

void elastic_sharing(const Target& target) {
  auto [elastic_admitted, elastic_rejected] = elastic_run(target, true);
  auto [static_admitted, static_rejected] = elastic_run(target, false);
  std::printf("%-7s elastic sharing (8 alternating bursts of 48 requests, 75%% of the device each):\n"
              "%-7s   elastic  admitted %3d  refused (would wait or preempt) %3d\n"
              "%-7s   static   admitted %3d  refused (would wait or preempt) %3d\n",
              target.device.c_str(), "", elastic_admitted, elastic_rejected, "", static_admitted, static_rejected);
}

void run_all(const Target& target) {
  block_latency(target);
  page_grow(target);
  churn(target);
  swap_bandwidth(target);
  elastic_sharing(target);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  try {
    Target cpu{"cpu", [](uint64_t budget) { return make_cpu_page_backend(budget, budget * 4); }, quick};
    run_all(cpu);
    if (cuda_device_count() > 0) {
      Target gpu{"cuda:0",
                 [](uint64_t budget) -> std::shared_ptr<PageBackend> {
                   uint64_t free_bytes = 0, total = 0;
                   cuda_memory_info(0, free_bytes, total);
                   std::string why_not;
                   auto backend = make_cuda_page_backend(0, std::min(1.0, double(budget + kMiB) / double(free_bytes)),
                                                         why_not);
                   if (!backend) throw std::runtime_error("cuda:0: " + why_not);
                   return backend;
                 },
                 quick};
      run_all(gpu);
    } else {
      std::printf("cuda:0  not available: CPU figures only\n");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_pool: %s\n", error.what());
    return 1;
  }
  return 0;
}
