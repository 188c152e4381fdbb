// CudaDriver: the CUDA driver's virtual-memory entry points, resolved at run
// time through cudaGetDriverEntryPointByVersion so that nothing links libcuda
// and the binary starts on machines without a driver.
//
// Called by: the CUDA page backend (cuda_page_backend.cpp) and bench/pool
// (raw driver timings). Only in builds with CITADEL_HAVE_CUDA.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

namespace citadel::cache::cuda {

struct CudaDriver {
  PFN_cuGetErrorName_v6000 error_name = nullptr;
  PFN_cuDeviceGet_v2000 device_get = nullptr;
  PFN_cuDeviceGetAttribute_v2000 device_get_attribute = nullptr;
  PFN_cuMemAddressReserve_v10020 address_reserve = nullptr;
  PFN_cuMemAddressFree_v10020 address_free = nullptr;
  PFN_cuMemCreate_v10020 create = nullptr;
  PFN_cuMemRelease_v10020 release = nullptr;
  PFN_cuMemMap_v10020 map = nullptr;
  PFN_cuMemUnmap_v10020 unmap = nullptr;
  PFN_cuMemSetAccess_v10020 set_access = nullptr;
  PFN_cuMemGetAllocationGranularity_v10020 granularity = nullptr;
};

// The resolved table, or nullptr with `why_not` set (no driver, old driver).
// Resolved once per process.
const CudaDriver* cuda_driver(std::string& why_not);

// "cuMemMap failed on cuda:0: CUDA_ERROR_OUT_OF_MEMORY (2)".
std::string driver_error(const char* call, int ordinal, CUresult result);

}  // namespace citadel::cache::cuda
