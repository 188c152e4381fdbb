// SharedLibrary: a library opened with dlopen at run time, never linked, so
// that a build and a host without it still work (NCCL for tensor-parallel
// sums, nccl_all_reduce.cpp; cuDNN for the vista VAE's convolutions,
// cudnn_conv3d.cpp). Entry points are resolved by name into the caller's
// typed function pointers; missing() says why the library is unusable (not
// found, or a required entry point absent), empty when it is usable. The
// library stays loaded for the process's life when usable (its handles may
// outlive any one owner), and is closed at once otherwise.
#pragma once

#include <string>
#include <type_traits>

namespace citadel::runtime::cuda {

class SharedLibrary {
 public:
  explicit SharedLibrary(const char* file);

  // entry = the symbol `name`, or null; a required one that is absent makes
  // the library unusable.
  template <typename Function>
  void resolve(Function& entry, const char* name, bool required = true) {
    static_assert(std::is_pointer_v<Function>, "resolve: a function pointer");
    entry = reinterpret_cast<Function>(symbol(name, required));
  }

  // Call once every entry point is resolved: closes the library when it is
  // unusable and returns missing().
  std::string finish();
  const std::string& missing() const { return missing_; }

 private:
  void* symbol(const char* name, bool required);

  std::string file_;
  void* handle_ = nullptr;
  std::string missing_;
};

}  // namespace citadel::runtime::cuda
