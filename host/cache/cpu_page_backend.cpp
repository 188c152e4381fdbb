// The CPU page backend: one anonymous PROT_NONE reservation; mapping a page
// makes it readable/writable, unmapping returns its memory to the OS
// (madvise(MADV_DONTNEED)) and makes it inaccessible again.
#include "host/cache/page_backend.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace citadel::cache {
namespace {

constexpr size_t kCpuPageBytes = size_t{2} << 20;

std::string errno_text() { return std::strerror(errno); }

class CpuPageBackend final : public PageBackend {
 public:
  CpuPageBackend(uint64_t budget_bytes, uint64_t reserve_bytes, std::string device)
      : device_(std::move(device)), budget_bytes_(budget_bytes / kCpuPageBytes * kCpuPageBytes) {
    pages_ = (reserve_bytes + kCpuPageBytes - 1) / kCpuPageBytes;
    if (pages_ == 0) pages_ = 1;
    void* memory = mmap(nullptr, pages_ * kCpuPageBytes, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) {
      throw PageError("cache pool " + device_ + ": cannot reserve " + std::to_string(pages_ * kCpuPageBytes) +
                      " bytes of address space: " + errno_text());
    }
    base_ = static_cast<std::byte*>(memory);
  }
  ~CpuPageBackend() override { munmap(base_, pages_ * kCpuPageBytes); }

  const std::string& device() const override { return device_; }
  std::string physical_device() const override { return "cpu"; }
  size_t page_bytes() const override { return kCpuPageBytes; }
  size_t reserved_pages() const override { return pages_; }
  uint64_t budget_bytes() const override { return budget_bytes_; }
  std::byte* base() const override { return base_; }

  void map_pages(size_t first, size_t count) override {
    check_range(first, count);
    if (mprotect(base_ + first * kCpuPageBytes, count * kCpuPageBytes, PROT_READ | PROT_WRITE) != 0) {
      throw PageError("cache pool " + device_ + ": mprotect of page " + std::to_string(first) + " failed: " + errno_text());
    }
  }
  void unmap_pages(size_t first, size_t count) override {
    check_range(first, count);
    std::byte* start = base_ + first * kCpuPageBytes;
    if (madvise(start, count * kCpuPageBytes, MADV_DONTNEED) != 0 ||
        mprotect(start, count * kCpuPageBytes, PROT_NONE) != 0) {
      throw PageError("cache pool " + device_ + ": releasing page " + std::to_string(first) + " failed: " + errno_text());
    }
  }

  void copy_within_device(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void copy_to_host(void* host, const void* device, size_t bytes) override { std::memcpy(host, device, bytes); }
  void copy_from_host(void* device, const void* host, size_t bytes) override { std::memcpy(device, host, bytes); }
  void synchronize() override {}

  void* allocate_host(size_t bytes) override {
    void* memory = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (memory == nullptr) throw std::bad_alloc();
    return memory;
  }
  void free_host(void* memory) override { std::free(memory); }

 private:
  void check_range(size_t first, size_t count) const {
    if (first + count > pages_) {
      throw PageError("cache pool " + device_ + ": pages " + std::to_string(first) + "+" + std::to_string(count) +
                      " lie outside the reservation of " + std::to_string(pages_));
    }
  }

  std::string device_;
  uint64_t budget_bytes_;
  size_t pages_ = 0;
  std::byte* base_ = nullptr;
};

}  // namespace

std::unique_ptr<PageBackend> make_cpu_page_backend(uint64_t budget_bytes, uint64_t reserve_bytes,
                                                   std::string device) {
  return std::make_unique<CpuPageBackend>(budget_bytes, reserve_bytes, std::move(device));
}

}  // namespace citadel::cache
