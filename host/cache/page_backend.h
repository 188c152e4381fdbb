// PageBackend: the page layer of the cache pool, one per device. It owns one
// large virtual reservation and maps/unmaps fixed-size physical pages (2 MiB)
// inside it on demand, and copies bytes for swap and compaction.
//
// Called by: DevicePool (device_pool.h) only. Implementations: the CPU backend
// (cpu_page_backend.cpp, anonymous memory) and the CUDA backend (cuda/, VMM
// driver calls resolved at run time). Not thread-safe: the pool serialises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace citadel::cache {

class PageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PageBackend {
 public:
  virtual ~PageBackend() = default;

  virtual const std::string& device() const = 0;  // the pool's device name: "cpu", "cuda:0", "cuda:0/a"
  virtual std::string physical_device() const = 0;  // "cpu", "cuda:0"
  virtual size_t page_bytes() const = 0;          // granularity of map/unmap
  virtual size_t reserved_pages() const = 0;      // pages of virtual space
  virtual uint64_t budget_bytes() const = 0;      // physical bytes the pool may map
  virtual std::byte* base() const = 0;            // start of the reservation

  // Backs pages [first, first + count) with physical memory / releases them
  // to the OS or driver. Throws PageError naming the device on failure.
  virtual void map_pages(size_t first, size_t count) = 0;
  virtual void unmap_pages(size_t first, size_t count) = 0;

  // Copies queued on the backend's own stream (synchronous on the CPU);
  // synchronize() waits for all of them. `host` is host memory (pinned on
  // CUDA), `device` lies inside the reservation.
  virtual void copy_within_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* host, const void* device, size_t bytes) = 0;
  virtual void copy_from_host(void* device, const void* host, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // Host memory for the swap tier: pinned on CUDA, plain on the CPU.
  virtual void* allocate_host(size_t bytes) = 0;
  virtual void free_host(void* memory) = 0;
};

// The CPU backend: `budget_bytes` of physical memory at most, inside a
// reservation of `reserve_bytes` (rounded to 2 MiB pages). `device` names the
// pool ("cpu", or a logical device on the CPU).
std::unique_ptr<PageBackend> make_cpu_page_backend(uint64_t budget_bytes, uint64_t reserve_bytes,
                                                   std::string device = "cpu");

// The CUDA backend for device `ordinal`, budget = `memory_fraction` of the
// memory free now. Returns nullptr and sets `why_not` when there is no driver,
// no such device, no VMM support, or the build has no CUDA.
std::unique_ptr<PageBackend> make_cuda_page_backend(int ordinal, double memory_fraction,
                                                    std::string& why_not);
// The same with a budget of `budget_bytes` (rounded down to pages) under the
// name `device` (a logical device on GPU `ordinal`, or "cuda:N" itself).
std::unique_ptr<PageBackend> make_cuda_page_backend(int ordinal, uint64_t budget_bytes, std::string device,
                                                    std::string& why_not);

// Number of CUDA devices the driver reports; 0 without driver or CUDA build.
int cuda_device_count();
// cudaMemGetInfo for device `ordinal`; false without driver or CUDA build.
bool cuda_memory_info(int ordinal, uint64_t& free_bytes, uint64_t& total_bytes);

}  // namespace citadel::cache
