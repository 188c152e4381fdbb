// Programmatic dependent launch (Hopper). A kernel that
// another kernel may follow closely calls allow_dependent_launch() early:
// the next kernel of the stream, when launched with the programmatic
// stream-serialization attribute (int4_gemv_tc.cu), may then start its
// blocks before this one ends. Such a dependent kernel does only work that
// reads no output of earlier kernels (e.g. weight loads) before
// wait_for_prerequisites(), which returns once the earlier grids have
// completed and their memory is visible. Both are no-ops on older GPUs and
// for kernels launched without the attribute. launch_dependent() launches
// a kernel with the attribute (when dependent_launch_enabled()); such a
// kernel must call wait_for_prerequisites() before it reads or writes what
// earlier kernels touch. Included by .cu files.
#pragma once

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/dependent_launch.h"

#include <cuda_runtime.h>

#include <utility>

namespace citadel::runtime::cuda {

__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void wait_for_prerequisites() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                      const char* what, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = dependent_launch_enabled() ? 1 : 0;
  check_cuda(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), what);
}

}  // namespace citadel::runtime::cuda
