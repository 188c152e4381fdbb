// cuda_decoder.h — the CUDA decoder backend of deepseek-ocr (CUDA builds
// only), shared by its two source files: cuda_decoder_pass.cpp (upload, the
// attention half of a layer, the step's tables, logits, graphs) and
// cuda_decoder_feed_forward.cpp (the dense MLP and the routed experts, on
// the device or routed on the host). make_cuda_decoder (decoder_backend.h)
// is the only way in; nothing outside these files names the class.
#pragma once

#include "decoder_backend.h"

#include "cuda_decoder_weights.h"
#include "expert_batch_plan.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/pinned_buffer.h"
#include "runtime/cuda/step_graphs.h"
#include "runtime/cuda/step_uploads.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace citadel::deepseek_ocr {

class CudaDecoder final : public DecoderBackend {
 public:
  // Uploads the weights (blocking) on the current device; steps run on `stream`.
  CudaDecoder(const DecoderConfig& config, const DecoderWeights& weights, runtime::DType kv_dtype, void* stream,
              const CudaDecoderOptions& options);

  std::vector<float> run(std::span<const DecoderChunk> chunks) override;
  StepLogits run_step(std::span<const DecoderChunk> chunks) override;

 private:
  // Device scratch grown as needed; growing moves a buffer, which ends the
  // captured step graphs' generation.
  float* scratch(runtime::cuda::DeviceBuffer& buffer, size_t floats) {
    return static_cast<float*>(scratch_bytes(buffer, floats * sizeof(float)));
  }
  void* scratch_bytes(runtime::cuda::DeviceBuffer& buffer, size_t bytes) {
    if (buffer.size() < bytes) {
      buffer = runtime::cuda::DeviceBuffer(bytes, "deepseek-ocr step scratch");
      ++generation_;
    }
    return buffer.data();
  }
  // `count` values into `buffer` (grown as needed), queued on the stream
  // without waiting (StepUploads); returns the device copy.
  template <typename T>
  T* upload(runtime::cuda::DeviceBuffer& buffer, const T* values, size_t count) {
    auto* device = static_cast<T*>(scratch_bytes(buffer, std::max<size_t>(1, count) * sizeof(T)));
    uploads_.copy(device, values, count * sizeof(T), stream_);
    return device;
  }
  void linear(const DeviceLinear& w, const float* x, int64_t rows, float* y) {
    runtime::cuda::matmul_f16(cublas_, x, rows, w.in, w.weight.as<uint16_t>(), runtime::cuda::WeightLayout::out_in, w.out, y, nullptr, stream_);
  }
  // out[r, :] += sum over the MLPs that take row r of weight * mlp(x[r, :]);
  // assignments[i] gives mlps[i] its rows (expert_batch_plan.h).
  void run_mlps(const std::vector<const DeviceMlp*>& mlps, const std::vector<MlpAssignment>& assignments,
                const float* x, int64_t rows, float* out);
  void attention(size_t layer, int64_t rows);
  void feed_forward(size_t layer, int64_t rows);
  // A dense layer's MLP over all rows, added into the hidden rows.
  void dense_mlp(const DeviceMlp& mlp, const float* normed, int64_t rows);
  // The layers and the logits of a step whose tables are on the device:
  // the final norm and lm_head on `wanted` rows (all rows when
  // `wanted_rows` is empty), their argmax.
  void enqueue_step(int64_t rows, std::span<const int64_t> wanted_rows, int64_t wanted);
  // A routed layer's experts with routing on the device (no host wait).
  void routed_on_device(const DeviceLayer& layer, const float* normed, int64_t rows, float* out);
  // Queues the step: the logits of the rows that want them in down_, their
  // argmax in argmax_; returns how many rows (0: none, the stream finished).
  int64_t launch(std::span<const DecoderChunk> chunks);

  const DecoderConfig& config_;
  const DecoderWeights& weights_;
  runtime::DType kv_dtype_;
  void* stream_;
  int64_t device_routing_max_rows_;
  runtime::cuda::CublasContext cublas_;
  // Decode steps (one token a chunk, every layer routed on the device) as
  // CUDA graphs keyed by rows and table stride; generation_ counts moved
  // scratch buffers.
  runtime::cuda::StepGraphs graphs_;
  uint64_t generation_ = 0;
  runtime::cuda::DeviceBuffer final_norm_, inv_freq_;
  DeviceLinear lm_head_;
  std::vector<DeviceLayer> layers_;
  // Per step.
  // Every row's block table (its chunk's blocks, table_stride_ entries,
  // null-padded), context length and K/V slot (the address of its
  // position's row in its block), on the device.
  runtime::cuda::DeviceBuffer tables_, lengths_, write_slots_, attention_scratch_;
  int64_t table_stride_ = 0, max_context_ = 0, attention_splits_ = 1;
  runtime::cuda::DeviceBuffer positions_, hidden_, normed_, normed_half_, q_, k_, v_, attn_, proj_, gathered_, gate_up_,
      activation_, down_, router_, slots_, slot_weights_, pointers_, argmax_, routed_experts_, routed_weights_;
  std::vector<float> host_rows_;
  runtime::cuda::StepUploads uploads_;                         // every host-to-device copy of a step
  runtime::cuda::PinnedHostBuffer host_router_;                // the router logits routed on the host
  runtime::cuda::PinnedHostBuffer host_logits_, host_argmax_;  // run_step's copies
};

}  // namespace citadel::deepseek_ocr
