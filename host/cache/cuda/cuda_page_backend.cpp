// The CUDA page backend: one cuMemAddressReserve per device; each 2 MiB page
// is a cuMemCreate'd physical allocation mapped with cuMemMap/cuMemSetAccess
// and given back with cuMemUnmap/cuMemRelease. Copies run on a dedicated
// non-blocking stream. The calling thread's current device is preserved.
#include "host/cache/cuda/cuda_driver.h"
#include "host/cache/page_backend.h"

#include <cuda_runtime_api.h>

#include <vector>

namespace citadel::cache {
namespace {

using cuda::CudaDriver;
using cuda::driver_error;

// Makes `ordinal` current for the scope and restores the previous device.
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != ordinal) cudaSetDevice(ordinal);
  }
  ~DeviceScope() {
    int current = -1;
    if (previous_ >= 0 && cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

void check_runtime(cudaError_t error, const char* call, int ordinal) {
  if (error != cudaSuccess) {
    throw PageError(std::string(call) + " failed on cuda:" + std::to_string(ordinal) + ": " +
                    cudaGetErrorString(error));
  }
}

class CudaPageBackend final : public PageBackend {
 public:
  // The budget: `budget_bytes`, or when 0 `memory_fraction` of the memory free now.
  CudaPageBackend(const CudaDriver& driver, int ordinal, double memory_fraction, uint64_t budget_bytes,
                  std::string name)
      : driver_(driver), ordinal_(ordinal), device_(name.empty() ? "cuda:" + std::to_string(ordinal) : name) {
    DeviceScope scope(ordinal_);
    check_runtime(cudaFree(nullptr), "cudaFree(0) (context creation)", ordinal_);
    CUdevice device = 0;
    check(driver_.device_get(&device, ordinal_), "cuDeviceGet");
    int vmm = 0;
    check(driver_.device_get_attribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, device),
          "cuDeviceGetAttribute");
    if (vmm == 0) throw PageError(device_ + " does not support virtual memory management");
    properties_.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    properties_.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    properties_.location.id = device;
    access_.location = properties_.location;
    access_.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    check(driver_.granularity(&page_bytes_, &properties_, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
          "cuMemGetAllocationGranularity");
    size_t free_bytes = 0, total_bytes = 0;
    check_runtime(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo", ordinal_);
    if (budget_bytes == 0) budget_bytes = static_cast<uint64_t>(memory_fraction * double(free_bytes));
    budget_bytes_ = budget_bytes / page_bytes_ * page_bytes_;
    // Virtual space is cheap: room for the whole device four times over.
    pages_ = total_bytes / page_bytes_ * 4;
    check_runtime(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate", ordinal_);
    CUresult reserved = driver_.address_reserve(&base_, pages_ * page_bytes_, page_bytes_, 0, 0);
    if (reserved != CUDA_SUCCESS) {
      cudaStreamDestroy(stream_);
      check(reserved, "cuMemAddressReserve");
    }
    handles_.assign(pages_, 0);
  }

  ~CudaPageBackend() override {
    DeviceScope scope(ordinal_);
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
    for (size_t page = 0; page < pages_; ++page) {
      if (handles_[page] == 0) continue;
      driver_.unmap(base_ + page * page_bytes_, page_bytes_);
      driver_.release(handles_[page]);
    }
    if (base_ != 0) driver_.address_free(base_, pages_ * page_bytes_);
  }

  const std::string& device() const override { return device_; }
  std::string physical_device() const override { return "cuda:" + std::to_string(ordinal_); }
  size_t page_bytes() const override { return page_bytes_; }
  size_t reserved_pages() const override { return pages_; }
  uint64_t budget_bytes() const override { return budget_bytes_; }
  std::byte* base() const override { return reinterpret_cast<std::byte*>(base_); }

  void map_pages(size_t first, size_t count) override {
    check_range(first, count);
    DeviceScope scope(ordinal_);
    for (size_t page = first; page < first + count; ++page) {
      try {
        map_one(page);
      } catch (...) {
        for (size_t done = first; done < page; ++done) unmap_one(done);
        throw;
      }
    }
  }

  void unmap_pages(size_t first, size_t count) override {
    check_range(first, count);
    DeviceScope scope(ordinal_);
    for (size_t page = first; page < first + count; ++page) unmap_one(page);
  }

  void copy_within_device(void* dst, const void* src, size_t bytes) override {
    check_runtime(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync", ordinal_);
  }
  void copy_to_host(void* host, const void* device, size_t bytes) override {
    check_runtime(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync", ordinal_);
  }
  void copy_from_host(void* device, const void* host, size_t bytes) override {
    check_runtime(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync", ordinal_);
  }
  void synchronize() override { check_runtime(cudaStreamSynchronize(stream_), "cudaStreamSynchronize", ordinal_); }

  void* allocate_host(size_t bytes) override {
    void* memory = nullptr;
    check_runtime(cudaHostAlloc(&memory, bytes, cudaHostAllocPortable), "cudaHostAlloc", ordinal_);
    return memory;
  }
  void free_host(void* memory) override { cudaFreeHost(memory); }

 private:
  void check(CUresult result, const char* call) const {
    if (result != CUDA_SUCCESS) throw PageError(driver_error(call, ordinal_, result));
  }
  void check_range(size_t first, size_t count) const {
    if (first + count > pages_) {
      throw PageError(device_ + ": pages " + std::to_string(first) + "+" + std::to_string(count) +
                      " lie outside the reservation");
    }
  }
  void map_one(size_t page) {
    CUmemGenericAllocationHandle handle = 0;
    check(driver_.create(&handle, page_bytes_, &properties_, 0), "cuMemCreate");
    CUdeviceptr address = base_ + page * page_bytes_;
    CUresult result = driver_.map(address, page_bytes_, 0, handle, 0);
    if (result == CUDA_SUCCESS) {
      result = driver_.set_access(address, page_bytes_, &access_, 1);
      if (result != CUDA_SUCCESS) driver_.unmap(address, page_bytes_);
    }
    if (result != CUDA_SUCCESS) {
      driver_.release(handle);
      check(result, "cuMemMap/cuMemSetAccess");
    }
    handles_[page] = handle;
  }
  void unmap_one(size_t page) {
    if (handles_[page] == 0) return;
    check(driver_.unmap(base_ + page * page_bytes_, page_bytes_), "cuMemUnmap");
    check(driver_.release(handles_[page]), "cuMemRelease");
    handles_[page] = 0;
  }

  const CudaDriver& driver_;
  int ordinal_;
  std::string device_;
  CUmemAllocationProp properties_{};
  CUmemAccessDesc access_{};
  size_t page_bytes_ = 0;
  uint64_t budget_bytes_ = 0;
  size_t pages_ = 0;
  CUdeviceptr base_ = 0;
  std::vector<CUmemGenericAllocationHandle> handles_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

int cuda_device_count() {
  std::string why_not;
  if (cuda::cuda_driver(why_not) == nullptr) return 0;
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

bool cuda_memory_info(int ordinal, uint64_t& free_bytes, uint64_t& total_bytes) {
  if (ordinal < 0 || ordinal >= cuda_device_count()) return false;
  DeviceScope scope(ordinal);
  size_t free_now = 0, total = 0;
  if (cudaMemGetInfo(&free_now, &total) != cudaSuccess) return false;
  free_bytes = free_now;
  total_bytes = total;
  return true;
}

namespace {

std::unique_ptr<PageBackend> make_backend(int ordinal, double memory_fraction, uint64_t budget_bytes,
                                          std::string device, std::string& why_not) {
  const CudaDriver* driver = cuda::cuda_driver(why_not);
  if (driver == nullptr) return nullptr;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || ordinal >= count) {
    why_not = "no such device (the driver reports " + std::to_string(count) + " CUDA devices)";
    return nullptr;
  }
  try {
    return std::make_unique<CudaPageBackend>(*driver, ordinal, memory_fraction, budget_bytes, std::move(device));
  } catch (const PageError& error) {
    why_not = error.what();
    return nullptr;
  }
}

}  // namespace

std::unique_ptr<PageBackend> make_cuda_page_backend(int ordinal, double memory_fraction, std::string& why_not) {
  return make_backend(ordinal, memory_fraction, 0, "", why_not);
}

std::unique_ptr<PageBackend> make_cuda_page_backend(int ordinal, uint64_t budget_bytes, std::string device,
                                                    std::string& why_not) {
  if (budget_bytes == 0) {
    why_not = "a pool of 0 bytes";
    return nullptr;
  }
  return make_backend(ordinal, 0.0, budget_bytes, std::move(device), why_not);
}

}  // namespace citadel::cache
