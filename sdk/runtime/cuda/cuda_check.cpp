// CUDA / cuBLAS status codes to RuntimeError.
#include "runtime/cuda/cuda_check.h"

#include "runtime/core/error.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace citadel::runtime::cuda {

void check_cuda(int error, const char* what) {
  if (error == cudaSuccess) return;
  const auto code = static_cast<cudaError_t>(error);
  throw RuntimeError(code == cudaErrorMemoryAllocation ? CITADEL_ERR_OUT_OF_MEMORY : CITADEL_ERR_INTERNAL,
                     std::string(what) + ": " + cudaGetErrorName(code) + ": " + cudaGetErrorString(code));
}

void check_cublas(int status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const auto code = static_cast<cublasStatus_t>(status);
  throw RuntimeError(code == CUBLAS_STATUS_ALLOC_FAILED ? CITADEL_ERR_OUT_OF_MEMORY : CITADEL_ERR_INTERNAL,
                     std::string(what) + ": cuBLAS " + cublasGetStatusName(code) + ": " + cublasGetStatusString(code));
}

void check_launch(const char* kernel_name) {
  check_cuda(cudaGetLastError(), (std::string("launching ") + kernel_name).c_str());
}

}  // namespace citadel::runtime::cuda

namespace citadel::runtime::cuda {

void fail_invalid(const std::string& message) { throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, message); }
void fail_unsupported(const std::string& message) { throw RuntimeError(CITADEL_ERR_UNSUPPORTED, message); }

}  // namespace citadel::runtime::cuda
