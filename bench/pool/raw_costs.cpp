// Raw page-map and copy costs without the pool (see raw_costs.h).
#include "raw_costs.h"

#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#ifdef CITADEL_HAVE_CUDA
#include "host/cache/cuda/cuda_driver.h"

#include <cuda_runtime_api.h>
#endif

namespace citadel::bench {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::vector<double> raw_cpu_page_map(size_t pages, size_t page_bytes) {
  void* base = mmap(nullptr, pages * page_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::runtime_error("raw_cpu_page_map: mmap failed");
  auto* bytes = static_cast<std::byte*>(base);
  std::vector<double> times;
  for (size_t page = 0; page < pages; ++page) {
    auto start = Clock::now();
    mprotect(bytes + page * page_bytes, page_bytes, PROT_READ | PROT_WRITE);
    times.push_back(seconds_since(start));
  }
  for (size_t page = 0; page < pages; ++page) {
    madvise(bytes + page * page_bytes, page_bytes, MADV_DONTNEED);
    mprotect(bytes + page * page_bytes, page_bytes, PROT_NONE);
  }
  munmap(base, pages * page_bytes);
  return times;
}

std::pair<double, double> raw_cpu_copy(size_t count, size_t bytes) {
  std::vector<std::byte> device(count * bytes, std::byte{1}), host(count * bytes, std::byte{2});
  auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) std::memcpy(host.data() + i * bytes, device.data() + i * bytes, bytes);
  double out = double(count * bytes) / seconds_since(start);
  start = Clock::now();
  for (size_t i = 0; i < count; ++i) std::memcpy(device.data() + i * bytes, host.data() + i * bytes, bytes);
  double in = double(count * bytes) / seconds_since(start);
  return {out, in};
}

#ifdef CITADEL_HAVE_CUDA
std::vector<double> raw_cuda_page_map(size_t pages) {
  std::string why_not;
  const cache::cuda::CudaDriver* driver = cache::cuda::cuda_driver(why_not);
  if (driver == nullptr) return {};
  cudaSetDevice(0);
  cudaFree(nullptr);
  CUmemAllocationProp properties{};
  properties.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  properties.location.id = 0;
  CUmemAccessDesc access{};
  access.location = properties.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  size_t page = 0;
  driver->granularity(&page, &properties, CU_MEM_ALLOC_GRANULARITY_MINIMUM);
  CUdeviceptr base = 0;
  if (driver->address_reserve(&base, pages * page, page, 0, 0) != CUDA_SUCCESS) return {};
  std::vector<CUmemGenericAllocationHandle> handles(pages);
  std::vector<double> times;
  for (size_t i = 0; i < pages; ++i) {
    auto start = Clock::now();
    driver->create(&handles[i], page, &properties, 0);
    driver->map(base + i * page, page, 0, handles[i], 0);
    driver->set_access(base + i * page, page, &access, 1);
    times.push_back(seconds_since(start));
  }
  for (size_t i = 0; i < pages; ++i) {
    driver->unmap(base + i * page, page);
    driver->release(handles[i]);
  }
  driver->address_free(base, pages * page);
  return times;
}

std::pair<double, double> raw_cuda_copy(size_t count, size_t bytes) {
  void* host = nullptr;
  void* device = nullptr;
  cudaStream_t stream = nullptr;
  if (cudaHostAlloc(&host, count * bytes, cudaHostAllocPortable) != cudaSuccess) return {0, 0};
  if (cudaMalloc(&device, count * bytes) != cudaSuccess) {
    cudaFreeHost(host);
    return {0, 0};
  }
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  auto* h = static_cast<std::byte*>(host);
  auto* d = static_cast<std::byte*>(device);
  for (size_t i = 0; i < count; ++i) cudaMemcpyAsync(h + i * bytes, d + i * bytes, bytes, cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);  // warm-up
  auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) cudaMemcpyAsync(h + i * bytes, d + i * bytes, bytes, cudaMemcpyDeviceToHost, stream);
  cudaStreamSynchronize(stream);
  double out = double(count * bytes) / seconds_since(start);
  start = Clock::now();
  for (size_t i = 0; i < count; ++i) cudaMemcpyAsync(d + i * bytes, h + i * bytes, bytes, cudaMemcpyHostToDevice, stream);
  cudaStreamSynchronize(stream);
  double in = double(count * bytes) / seconds_since(start);
  cudaStreamDestroy(stream);
  cudaFree(device);
  cudaFreeHost(host);
  return {out, in};
}
#else
std::vector<double> raw_cuda_page_map(size_t) { return {}; }
std::pair<double, double> raw_cuda_copy(size_t, size_t) { return {0, 0}; }
#endif

}  // namespace citadel::bench
