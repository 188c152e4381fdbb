// PinnedHostBuffer: RAII ownership of page-locked host memory
// (cudaHostAlloc), the source or destination that lets a copy run at the
// link's full speed and asynchronously. llm-gptq's CUDA step copies the
// logits rows it samples from, and each row's argmax, into one of these, and
// its per-step tables out of two.
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
  // Queues a copy of `bytes` of this buffer from byte `offset` to device
  // address `device`, ordered on `stream`; returns at once. The bytes must
  // not change until the stream has passed the copy. Throws when offset +
  // bytes exceeds size().
  void copy_to_device_async(void* device, size_t bytes, size_t offset, void* stream) const;

 private:
  void release() noexcept;
  void check_range(size_t offset, size_t bytes) const;

  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace citadel::runtime::cuda
