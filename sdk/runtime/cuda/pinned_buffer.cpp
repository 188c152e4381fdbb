// PinnedHostBuffer over cudaHostAlloc / cudaMemcpyAsync.
#include "runtime/cuda/pinned_buffer.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime_api.h>

#include <string>
#include <utility>

namespace citadel::runtime::cuda {

PinnedHostBuffer::PinnedHostBuffer(size_t bytes, const char* what) : bytes_(bytes) {
  if (bytes == 0) return;
  const std::string context = std::string("cudaHostAlloc of ") + std::to_string(bytes) + " bytes for " + what;
  check_cuda(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), context.c_str());
}

PinnedHostBuffer::~PinnedHostBuffer() { release(); }

PinnedHostBuffer::PinnedHostBuffer(PinnedHostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

PinnedHostBuffer& PinnedHostBuffer::operator=(PinnedHostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void PinnedHostBuffer::release() noexcept {
  if (data_ != nullptr) cudaFreeHost(data_);
  data_ = nullptr;
  bytes_ = 0;
}

void PinnedHostBuffer::check_range(size_t offset, size_t bytes) const {
  if (offset > bytes_ || bytes > bytes_ - offset) {
    fail_invalid("PinnedHostBuffer: a copy of " + std::to_string(bytes) + " bytes at offset " +
                  std::to_string(offset) + " passes the end of " + std::to_string(bytes_) + " bytes");
  }
}

void PinnedHostBuffer::copy_from_device_async(const void* device, size_t bytes, size_t offset, void* stream) {
  check_range(offset, bytes);
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(static_cast<char*>(data_) + offset, device, bytes, cudaMemcpyDeviceToHost,
                             static_cast<cudaStream_t>(stream)),
             "PinnedHostBuffer::copy_from_device_async");
}

void PinnedHostBuffer::copy_to_device_async(void* device, size_t bytes, size_t offset, void* stream) const {
  check_range(offset, bytes);
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(device, static_cast<const char*>(data_) + offset, bytes, cudaMemcpyHostToDevice,
                             static_cast<cudaStream_t>(stream)),
             "PinnedHostBuffer::copy_to_device_async");
}

}  // namespace citadel::runtime::cuda
