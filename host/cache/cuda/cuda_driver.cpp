// Resolves the driver entry points once, through the runtime (cudart_static).
#include "host/cache/cuda/cuda_driver.h"

#include <cuda_runtime_api.h>

#include <mutex>

namespace citadel::cache::cuda {
namespace {

constexpr unsigned kApiVersion = 12000;  // ABI of the _v10020 / _v2000 typedefs

template <typename Function>
bool resolve(const char* symbol, Function& function, std::string& why_not) {
  void* address = nullptr;
  cudaDriverEntryPointQueryResult status = cudaDriverEntryPointSymbolNotFound;
  cudaError_t error = cudaGetDriverEntryPointByVersion(symbol, &address, kApiVersion, cudaEnableDefault, &status);
  if (error != cudaSuccess || status != cudaDriverEntryPointSuccess || address == nullptr) {
    why_not = std::string("cannot resolve ") + symbol + " from the CUDA driver: " +
              (error != cudaSuccess ? cudaGetErrorString(error) : "symbol not found");
    return false;
  }
  function = reinterpret_cast<Function>(address);
  return true;
}

}  // namespace

const CudaDriver* cuda_driver(std::string& why_not) {
  static std::once_flag once;
  static CudaDriver driver;
  static bool ok = false;
  static std::string failure;
  std::call_once(once, [] {
    int count = 0;
    cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) {
      failure = std::string("no usable CUDA driver: ") + cudaGetErrorString(error);
      return;
    }
    ok = resolve("cuGetErrorName", driver.error_name, failure) &&
         resolve("cuDeviceGet", driver.device_get, failure) &&
         resolve("cuDeviceGetAttribute", driver.device_get_attribute, failure) &&
         resolve("cuMemAddressReserve", driver.address_reserve, failure) &&
         resolve("cuMemAddressFree", driver.address_free, failure) &&
         resolve("cuMemCreate", driver.create, failure) && resolve("cuMemRelease", driver.release, failure) &&
         resolve("cuMemMap", driver.map, failure) && resolve("cuMemUnmap", driver.unmap, failure) &&
         resolve("cuMemSetAccess", driver.set_access, failure) &&
         resolve("cuMemGetAllocationGranularity", driver.granularity, failure);
  });
  if (!ok) {
    why_not = failure;
    return nullptr;
  }
  return &driver;
}

std::string driver_error(const char* call, int ordinal, CUresult result) {
  std::string why_not;
  const char* name = nullptr;
  const CudaDriver* driver = cuda_driver(why_not);
  if (driver != nullptr && driver->error_name != nullptr) driver->error_name(result, &name);
  return std::string(call) + " failed on cuda:" + std::to_string(ordinal) + ": " + (name ? name : "CUDA error") +
         " (" + std::to_string(static_cast<int>(result)) + ")";
}

}  // namespace citadel::cache::cuda
