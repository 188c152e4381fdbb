// DeviceBuffer: RAII ownership of one cudaMalloc'd region, with blocking
// upload/download (optionally ordered on a stream), plus device queries.
// Used by the CUDA kernels' callers (llm-gptq's CUDA path, the [cuda] tests,
// bench/cuda_kernels) to hold weights, activations and scratch on the GPU.
// Errors throw RuntimeError with CUDA's error string. Plain C++, no Boost.
// A DevicePlacement made current on a thread (ScopedDevicePlacement) decides
// where the buffers constructed there take their memory: llm-gptq's streamed
// layers (layer_streamer.h) place a layer's weights in a staging slot.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace citadel::runtime::cuda {

// True when a CUDA driver and at least one device are present (never throws).
bool device_available();
// "NVIDIA H200" etc. of the current device; throws when there is none.
std::string device_name();
// Blocks until `stream` (a cudaStream_t, null = legacy default) has finished.
void synchronize(void* stream = nullptr);

// Where DeviceBuffers take their memory while current on the calling thread
// (default: cudaMalloc/cudaFree). It must outlive the buffers it placed.
class DevicePlacement {
 public:
  virtual ~DevicePlacement() = default;
  // Device memory for `bytes` (> 0); throws RuntimeError naming `what`.
  virtual void* allocate(size_t bytes, const char* what) = 0;
  // Takes back what allocate() returned.
  virtual void release(void* data, size_t bytes) noexcept = 0;
};

// Makes `placement` current on this thread for the scope's life (nestable).
class ScopedDevicePlacement {
 public:
  explicit ScopedDevicePlacement(DevicePlacement* placement);
  ~ScopedDevicePlacement();
  ScopedDevicePlacement(const ScopedDevicePlacement&) = delete;
  ScopedDevicePlacement& operator=(const ScopedDevicePlacement&) = delete;

 private:
  DevicePlacement* previous_;
};

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Allocates `bytes` of device memory (uninitialized); `what` names the
  // buffer in the out-of-memory error.
  explicit DeviceBuffer(size_t bytes, const char* what = "device buffer");
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // A buffer holding a copy of `bytes` host bytes.
  static DeviceBuffer from_host(const void* host, size_t bytes, const char* what = "device buffer");
  template <typename T>
  static DeviceBuffer from_vector(const std::vector<T>& host, const char* what = "device buffer") {
    return from_host(host.data(), host.size() * sizeof(T), what);
  }

  void* data() const { return data_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  size_t size() const { return bytes_; }

  // Copies host -> device at byte `offset`; returns when the copy is done.
  // Throws when offset + bytes exceeds size().
  void upload(const void* host, size_t bytes, size_t offset = 0, void* stream = nullptr);
  // Copies device -> host from byte `offset` after the work queued on
  // `stream` so far; returns when the copy is done.
  void download(void* host, size_t bytes, size_t offset = 0, void* stream = nullptr) const;
  template <typename T>
  std::vector<T> to_vector(size_t count, void* stream = nullptr) const {
    std::vector<T> host(count);
    download(host.data(), count * sizeof(T), 0, stream);
    return host;
  }
  // Sets every byte to zero (ordered on `stream`, asynchronous).
  void zero(void* stream = nullptr);

 private:
  void release() noexcept;
  void check_range(size_t offset, size_t bytes, const char* what) const;

  void* data_ = nullptr;
  size_t bytes_ = 0;
  DevicePlacement* placement_ = nullptr;  // null: cudaMalloc'd
};

}  // namespace citadel::runtime::cuda
