// Streamed layers of llm-gptq's CUDA forward pass: slot placement, pinned
// host images and the double-buffered per-step copies (see layer_streamer.h).
#include "layer_streamer.h"

#include "runtime/core/error.h"
#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::llm {

namespace cuda = runtime::cuda;

namespace {
constexpr size_t kAlignment = 256;
size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) & ~(kAlignment - 1); }
cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }
cudaEvent_t as_event(void* event) { return static_cast<cudaEvent_t>(event); }
}  // namespace

BumpPlacement::~BumpPlacement() {
  if (base_ == nullptr) {
    for (const auto& [data, end] : live_end_) cudaFree(data);
  }
}

void* BumpPlacement::allocate(size_t bytes, const char* what) {
  const size_t begin = align_up(top_);
  const size_t end = begin + bytes;
  void* data = nullptr;
  if (base_ == nullptr) {
    const std::string context = std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes for " + what;
    cuda::check_cuda(cudaMalloc(&data, bytes), context.c_str());
  } else {
    if (end > capacity_) {
      runtime::throw_invalid(std::string("llm-gptq streamed layer: ") + what + " needs " + std::to_string(end) +
                             " bytes of a " + std::to_string(capacity_) + "-byte staging slot");
    }
    data = base_ + begin;
  }
  live_end_[data] = end;
  top_ = end;
  peak_ = std::max(peak_, top_);
  return data;
}

void BumpPlacement::release(void* data, size_t) noexcept {
  if (live_end_.erase(data) == 0) return;  // from a build before reset()
  if (base_ == nullptr) cudaFree(data);
  top_ = 0;
  for (const auto& [live, end] : live_end_) top_ = std::max(top_, end);
}

LayerStreamer::LayerStreamer(uint32_t first_streamed, uint32_t num_layers)
    : first_(std::min(first_streamed, num_layers)), count_(num_layers) {
  if (!active()) return;
  images_.resize(count_ - first_);
  cudaStream_t stream = nullptr;
  cuda::check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate (layer copies)");
  copy_stream_ = stream;
  auto make_event = [](void*& out) {
    cudaEvent_t event = nullptr;
    cuda::check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate (layer copies)");
    out = event;
  };
  make_event(start_);
  for (int s = 0; s < 2; ++s) {
    make_event(copied_[s]);
    make_event(computed_[s]);
  }
}

LayerStreamer::~LayerStreamer() {
  if (copy_stream_ != nullptr) cudaStreamSynchronize(as_stream(copy_stream_));
  for (Image& image : images_) {
    if (image.host != nullptr) cudaFreeHost(image.host);
  }
  for (void* event : {start_, copied_[0], copied_[1], computed_[0], computed_[1]}) {
    if (event != nullptr) cudaEventDestroy(as_event(event));
  }
  if (copy_stream_ != nullptr) cudaStreamDestroy(as_stream(copy_stream_));
}

void LayerStreamer::allocate_slots(size_t layer_bytes, size_t build_peak_bytes) {
  const size_t slot_start = align_up(std::max<size_t>(layer_bytes, 1));
  const size_t capacity = align_up(std::max(build_peak_bytes, layer_bytes));
  region_ = cuda::DeviceBuffer(slot_start + capacity, "streamed layer staging slots");
  for (int s = 0; s < 2; ++s) {
    slots_[s] = region_.as<std::byte>() + (s == 0 ? 0 : slot_start);
    placements_[s] = std::make_unique<BumpPlacement>(slots_[s], capacity);
  }
}

cuda::DevicePlacement* LayerStreamer::placement_for(size_t layer) {
  BumpPlacement& placement = *placements_[slot_of(layer)];
  placement.reset();
  return &placement;
}

void LayerStreamer::take_image(size_t layer) {
  const size_t bytes = placements_[slot_of(layer)]->top();
  Image& image = images_[layer - first_];
  cuda::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize (streamed layer built)");
  const std::string context = "cudaHostAlloc of " + std::to_string(bytes) + " pinned bytes for streamed layer " +
                              std::to_string(layer);
  cuda::check_cuda(cudaHostAlloc(&image.host, std::max<size_t>(bytes, 1), cudaHostAllocDefault), context.c_str());
  image.bytes = bytes;
  cuda::check_cuda(cudaMemcpy(image.host, slots_[slot_of(layer)], bytes, cudaMemcpyDeviceToHost),
                   "cudaMemcpy (streamed layer image)");
}

uint64_t LayerStreamer::host_image_bytes() const {
  uint64_t bytes = 0;
  for (const Image& image : images_) bytes += image.bytes;
  return bytes;
}

void LayerStreamer::copy_in(size_t layer, bool wait_compute) {
  const size_t slot = slot_of(layer);
  const Image& image = images_[layer - first_];
  if (wait_compute) {
    cuda::check_cuda(cudaStreamWaitEvent(as_stream(copy_stream_), as_event(computed_[slot]), 0),
                     "cudaStreamWaitEvent (slot free)");
  }
  cuda::check_cuda(cudaMemcpyAsync(slots_[slot], image.host, image.bytes, cudaMemcpyHostToDevice,
                                   as_stream(copy_stream_)),
                   "cudaMemcpyAsync (streamed layer)");
  cuda::check_cuda(cudaEventRecord(as_event(copied_[slot]), as_stream(copy_stream_)), "cudaEventRecord (copied)");
}

void LayerStreamer::begin_step(void* stream) {
  if (!active()) return;
  // The copy stream joins the step after everything queued before it (the
  // previous step's use of the slots included), also under graph capture.
  cuda::check_cuda(cudaEventRecord(as_event(start_), as_stream(stream)), "cudaEventRecord (step start)");
  cuda::check_cuda(cudaStreamWaitEvent(as_stream(copy_stream_), as_event(start_), 0), "cudaStreamWaitEvent (start)");
  copy_in(first_, false);
  if (first_ + 1 < count_) copy_in(first_ + 1, false);
}

void LayerStreamer::before_layer(size_t layer, void* stream) {
  if (!streamed(layer)) return;
  cuda::check_cuda(cudaStreamWaitEvent(as_stream(stream), as_event(copied_[slot_of(layer)]), 0),
                   "cudaStreamWaitEvent (layer copied)");
}

void LayerStreamer::after_layer(size_t layer, void* stream) {
  if (!streamed(layer)) return;
  if (layer + 2 >= count_) return;  // no later layer reuses this slot in this step
  cuda::check_cuda(cudaEventRecord(as_event(computed_[slot_of(layer)]), as_stream(stream)),
                   "cudaEventRecord (layer computed)");
  copy_in(layer + 2, true);
}

}  // namespace citadel::llm
