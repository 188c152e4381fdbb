// Raw costs measured in the same run as the pool figures, for comparison:
// mapping one page straight through the OS or the driver, and copying block
// sized chunks between host memory and the device without the pool.
//
// Called by: bench/pool/main.cpp only.
#pragma once

#include <cstddef>
#include <vector>

namespace citadel::bench {

// Seconds per page to back (and then release) `pages` pages of `page_bytes`.
std::vector<double> raw_cpu_page_map(size_t pages, size_t page_bytes);
// cuMemCreate + cuMemMap + cuMemSetAccess per page on device 0; empty when
// there is no CUDA.
std::vector<double> raw_cuda_page_map(size_t pages);

// Bytes per second of copying `count` chunks of `bytes` device->host then
// host->device, raw (memcpy on the CPU, cudaMemcpyAsync with pinned memory
// on CUDA). Returns {out, in}.
std::pair<double, double> raw_cpu_copy(size_t count, size_t bytes);
std::pair<double, double> raw_cuda_copy(size_t count, size_t bytes);

}  // namespace citadel::bench
