// layer_streamer.h — where the device weights of llm-gptq's streamed layers
// live (options gpu_layers / cpu_offload_gb, weight_offload.h). The layers
// [first_streamed, num_layers) are built by the CUDA forward pass into one of
// two device staging slots (layer i into slot (i - first_streamed) % 2, through a
// DevicePlacement, runtime/cuda/device_buffer.h), so their DeviceProjections
// point into the slot; the slot's bytes are then kept as that layer's image
// in pinned host memory (cudaHostAlloc). Each step copies the images back on
// a copy stream, double-buffered with events: the copy of layer i+1 runs
// while layer i computes, and the copy of layer i+2 into layer i's slot waits
// for layer i's compute. The same calls work eagerly and under CUDA graph
// capture (the copies become memcpy nodes of the step's graph). Kernels are
// untouched: only where a layer's device pointers point changes. Used by
// cuda_forward.cpp only; CUDA builds only.
#pragma once

#include "runtime/cuda/device_buffer.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace citadel::llm {

// A bump allocator over `base` (capacity bytes), or, with a null base, one
// that cudaMallocs for real and only tracks the offsets a bump allocator
// would have used (to size the slots). Freeing lowers the top to the end of
// the highest live allocation, so temporaries freed last-in first-out are
// reused.
class BumpPlacement final : public runtime::cuda::DevicePlacement {
 public:
  BumpPlacement(void* base, size_t capacity) : base_(static_cast<std::byte*>(base)), capacity_(capacity) {}
  ~BumpPlacement() override;
  void* allocate(size_t bytes, const char* what) override;
  void release(void* data, size_t bytes) noexcept override;
  // Starts a new build at offset 0 (the previous build's buffers stay alive
  // but no longer count: their bytes are that layer's image now).
  void reset() {
    top_ = peak_ = 0;
    live_end_.clear();
  }
  size_t top() const { return top_; }
  size_t peak() const { return peak_; }

 private:
  std::byte* base_;
  size_t capacity_;
  size_t top_ = 0, peak_ = 0;
  std::map<void*, size_t> live_end_;  // allocation -> its end offset
};

class LayerStreamer {
 public:
  // No streamed layers when first_streamed >= num_layers.
  LayerStreamer(uint32_t first_streamed, uint32_t num_layers);
  ~LayerStreamer();
  LayerStreamer(const LayerStreamer&) = delete;
  LayerStreamer& operator=(const LayerStreamer&) = delete;

  bool active() const { return first_ < count_; }
  uint32_t first_streamed() const { return first_; }
  bool streamed(size_t layer) const { return layer >= first_ && layer < count_; }

  // Building: allocates the slots for layers whose built bytes are at most
  // `layer_bytes` and whose build (repacking temporaries included) peaks at
  // `build_peak_bytes` (both from a measured build): one device region of
  // layer_bytes + build_peak_bytes, slot 0 at its start and slot 1 at
  // layer_bytes (a build in slot 0 may spill over slot 1's bytes: images are
  // taken right after each build and every step copies them back). Then per
  // streamed layer the placement its build runs under, and take_image()
  // once it is built (blocking).
  void allocate_slots(size_t layer_bytes, size_t build_peak_bytes);
  runtime::cuda::DevicePlacement* placement_for(size_t layer);
  void take_image(size_t layer);

  // A step, on the compute `stream`: begin_step before the first layer,
  // before_layer/after_layer around each streamed layer.
  void begin_step(void* stream);
  void before_layer(size_t layer, void* stream);
  void after_layer(size_t layer, void* stream);

  uint64_t slot_device_bytes() const { return region_.size(); }
  uint64_t host_image_bytes() const;

 private:
  size_t slot_of(size_t layer) const { return (layer - first_) % 2; }
  void copy_in(size_t layer, bool wait_compute);

  uint32_t first_, count_;
  runtime::cuda::DeviceBuffer region_;
  void* slots_[2] = {nullptr, nullptr};
  std::unique_ptr<BumpPlacement> placements_[2];
  struct Image {
    void* host = nullptr;  // pinned
    size_t bytes = 0;
  };
  std::vector<Image> images_;  // per streamed layer
  void* copy_stream_ = nullptr;
  void* start_ = nullptr;
  void* copied_[2] = {nullptr, nullptr};
  void* computed_[2] = {nullptr, nullptr};
};

}  // namespace citadel::llm
