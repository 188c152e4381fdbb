// Stand-ins for the CUDA page backend in builds without CUDA: every cuda:N
// device is unavailable. Builds with CUDA compile cuda/*.cpp instead.
#ifndef CITADEL_HAVE_CUDA

#include "host/cache/page_backend.h"

namespace citadel::cache {

std::unique_ptr<PageBackend> make_cuda_page_backend(int, double, std::string& why_not) {
  why_not = "this build of citadel has no CUDA support";
  return nullptr;
}

std::unique_ptr<PageBackend> make_cuda_page_backend(int, uint64_t, std::string, std::string& why_not) {
  why_not = "this build of citadel has no CUDA support";
  return nullptr;
}

int cuda_device_count() { return 0; }

bool cuda_memory_info(int, uint64_t&, uint64_t&) { return false; }

}  // namespace citadel::cache

#endif  // CITADEL_HAVE_CUDA
