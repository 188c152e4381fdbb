// PinnedHostBuffer: RAII ownership of page-locked host memory
// (cudaHostAlloc), the destination that lets a device-to-host copy run at the
// link's full speed and asynchronously. llm-gptq's CUDA step copies the
// logits rows it samples from, and each row's argmax, into one of these.
// Errors throw RuntimeError with CUDA's error string. Plain C++, no Boost.
#pragma once

#include <cstddef>

namespace citadel::runtime::cuda {

class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  // `bytes` of page-locked host memory (uninitialized); `what` names the
  // buffer in the error when the allocation fails.
  explicit PinnedHostBuffer(size_t bytes, const char* what = "pinned host buffer");
  ~PinnedHostBuffer();
  PinnedHostBuffer(PinnedHostBuffer&& other) noexcept;
  PinnedHostBuffer& operator=(PinnedHostBuffer&& other) noexcept;
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;

  void* data() const { return data_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  size_t size() const { return bytes_; }

  // Queues a copy of `bytes` from device address `device` into this buffer
  // at byte `offset`, ordered on `stream` (a cudaStream_t); returns at once.
  // The bytes are there once the stream is synchronized. Throws when
  // offset + bytes exceeds size().
  void copy_from_device_async(const void* device, size_t bytes, size_t offset, void* stream);

 private:
  void release() noexcept;

  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace citadel::runtime::cuda
