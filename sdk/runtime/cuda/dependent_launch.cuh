// Programmatic dependent launch (Hopper), device side. A kernel that
// another kernel may follow closely calls allow_dependent_launch() early:
// the next kernel of the stream, when launched with the programmatic
// stream-serialization attribute (int4_gemv_tc.cu), may then start its
// blocks before this one ends. Such a dependent kernel does only work that
// reads no output of earlier kernels (e.g. weight loads) before
// wait_for_prerequisites(), which returns once the earlier grids have
// completed and their memory is visible. Both are no-ops on older GPUs and
// for kernels launched without the attribute. Included by .cu files.
#pragma once

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

}  // namespace citadel::runtime::cuda
