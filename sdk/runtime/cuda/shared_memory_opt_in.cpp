// The per-device shared-memory opt-in (shared_memory_opt_in.h).
#include "runtime/cuda/shared_memory_opt_in.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <utility>

namespace citadel::runtime::cuda {

void opt_in_shared_memory(const void* kernel, int bytes, const char* what) {
  int device = 0;
  check_cuda(cudaGetDevice(&device), what);
  static std::mutex mutex;
  static std::map<std::pair<const void*, int>, int> granted;  // (kernel, device) -> bytes
  std::lock_guard<std::mutex> lock(mutex);
  int& done = granted[{kernel, device}];
  if (bytes <= done) return;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), what);
  done = bytes;
}

}  // namespace citadel::runtime::cuda
