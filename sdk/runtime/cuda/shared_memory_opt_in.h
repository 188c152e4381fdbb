// A kernel's opt-in to more than 48 KB of dynamic shared memory
// (cudaFuncAttributeMaxDynamicSharedMemorySize) on the current device. The
// attribute belongs to the kernel in one device's context, so a process
// that runs a model on cuda:1 after another on cuda:0 (replicas, several
// models) must set it again there: this remembers what each (kernel,
// device) got and calls the driver only for a new pair or a larger size.
// Thread-safe. Callers: the .cu launchers of kernels past 48 KB (int4
// GEMV/GEMM, flash decoding, expert GEMM). No Boost.
#pragma once

namespace citadel::runtime::cuda {

// Throws (check_cuda, naming `what`) when the device refuses `bytes`.
void opt_in_shared_memory(const void* kernel, int bytes, const char* what);

}  // namespace citadel::runtime::cuda
