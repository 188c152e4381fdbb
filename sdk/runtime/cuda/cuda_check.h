// CUDA/cuBLAS status codes -> citadel::runtime::RuntimeError naming the
// operation and carrying CUDA's error string; fail_* let .cu host code (which
// must not include error.h: Boost) throw. Used by every wrapper here. Code in
// sdk/runtime/cuda must not call out-of-line citadel_sdk functions
// (throw_invalid, gptq_num_groups, ...): citadel_sdk links before this library.
#pragma once

#include <string>

namespace citadel::runtime::cuda {

// Throws when `error` (a cudaError_t) is not cudaSuccess: "<what>: <CUDA error string>".
void check_cuda(int error, const char* what);
// Throws when `status` (a cublasStatus_t) is not CUBLAS_STATUS_SUCCESS.
void check_cublas(int status, const char* what);
// After a kernel launch: throws on a launch error (cudaGetLastError).
void check_launch(const char* kernel_name);
// RuntimeError with CITADEL_ERR_INVALID_ARGUMENT / CITADEL_ERR_UNSUPPORTED.
[[noreturn]] void fail_invalid(const std::string& message);
[[noreturn]] void fail_unsupported(const std::string& message);

}  // namespace citadel::runtime::cuda
