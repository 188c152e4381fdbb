// DeviceBuffer and device queries over the CUDA runtime API.
#include "runtime/cuda/device_buffer.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime_api.h>

#include <utility>

namespace citadel::runtime::cuda {

bool device_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return false;
  }
  return count > 0;
}

std::string device_name() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  cudaDeviceProp properties{};
  check_cuda(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  return properties.name;
}

void synchronize(void* stream) {
  check_cuda(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

namespace {
thread_local DevicePlacement* current_placement = nullptr;
}  // namespace

ScopedDevicePlacement::ScopedDevicePlacement(DevicePlacement* placement) : previous_(current_placement) {
  current_placement = placement;
}

ScopedDevicePlacement::~ScopedDevicePlacement() { current_placement = previous_; }

DeviceBuffer::DeviceBuffer(size_t bytes, const char* what) : bytes_(bytes) {
  if (bytes == 0) return;
  if (current_placement != nullptr) {
    data_ = current_placement->allocate(bytes, what);
    placement_ = current_placement;
    return;
  }
  const std::string context = std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes for " + what;
  check_cuda(cudaMalloc(&data_, bytes), context.c_str());
}

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      placement_(std::exchange(other.placement_, nullptr)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    placement_ = std::exchange(other.placement_, nullptr);
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (data_ != nullptr) {
    if (placement_ != nullptr) placement_->release(data_, bytes_);
    else cudaFree(data_);
  }
  data_ = nullptr;
  bytes_ = 0;
  placement_ = nullptr;
}

DeviceBuffer DeviceBuffer::from_host(const void* host, size_t bytes, const char* what) {
  DeviceBuffer buffer(bytes, what);
  buffer.upload(host, bytes);
  return buffer;
}

void DeviceBuffer::check_range(size_t offset, size_t bytes, const char* what) const {
  if (offset > bytes_ || bytes > bytes_ - offset) {
    fail_invalid(std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                  " exceed the device buffer of " + std::to_string(bytes_) + " bytes");
  }
}

void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset, void* stream) {
  check_range(offset, bytes, "DeviceBuffer::upload");
  if (bytes == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  check_cuda(cudaMemcpyAsync(static_cast<char*>(data_) + offset, host, bytes, cudaMemcpyHostToDevice, s),
             "DeviceBuffer::upload");
  check_cuda(cudaStreamSynchronize(s), "DeviceBuffer::upload");
}

void DeviceBuffer::download(void* host, size_t bytes, size_t offset, void* stream) const {
  check_range(offset, bytes, "DeviceBuffer::download");
  if (bytes == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  check_cuda(cudaMemcpyAsync(host, static_cast<const char*>(data_) + offset, bytes, cudaMemcpyDeviceToHost, s),
             "DeviceBuffer::download");
  check_cuda(cudaStreamSynchronize(s), "DeviceBuffer::download");
}

void DeviceBuffer::zero(void* stream) {
  if (bytes_ == 0) return;
  check_cuda(cudaMemsetAsync(data_, 0, bytes_, static_cast<cudaStream_t>(stream)), "DeviceBuffer::zero");
}

}  // namespace citadel::runtime::cuda
