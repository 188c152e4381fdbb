// SharedLibrary over dlopen/dlsym (see shared_library.h).
#include "runtime/cuda/shared_library.h"

#include <dlfcn.h>

namespace citadel::runtime::cuda {

SharedLibrary::SharedLibrary(const char* file) : file_(file) {
  handle_ = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = dlerror();
    missing_ = why != nullptr ? why : "dlopen(" + file_ + ") failed";
  }
}

void* SharedLibrary::symbol(const char* name, bool required) {
  if (handle_ == nullptr) return nullptr;
  void* entry = dlsym(handle_, name);
  if (entry == nullptr && required && missing_.empty()) missing_ = file_ + " has no " + name;
  return entry;
}

std::string SharedLibrary::finish() {
  if (!missing_.empty() && handle_ != nullptr) {
    dlclose(handle_);
    handle_ = nullptr;
  }
  return missing_;
}

}  // namespace citadel::runtime::cuda
