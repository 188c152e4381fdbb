// cuda_forward.h — the CUDA forward pass of llm-gptq, the GPU twin of
// ForwardPass (forward.h): same SequenceChunk input, except that the chunks'
// block addresses are device pointers (the host's CUDA cache pool, or
// cudaMalloc'd blocks in the tests). Weights are uploaded once at
// construction (q/k/v and gate/up fused where their GPTQ layouts allow);
// run() uploads the step's tables (token ids, positions, K/V slots, block
// tables, lengths) into fixed device buffers, queues the step (replayed as a
// CUDA graph per shape after its first run, see StepGraphs) and returns the
// logits on the host. Used by LlmModel on CUDA devices, tests/llm_cuda and
// bench/llm_decode --cuda. Only compiled when CITADEL_HAVE_CUDA. Layers from
// `resident_layers` on are streamed from pinned host memory each step
// (layer_streamer.h; options gpu_layers / cpu_offload_gb).
#pragma once

#include "forward.h"
#include "hf_config.h"
#include "kv_layout.h"
#include "layer_streamer.h"
#include "weights.h"

#include "cuda_embedding.h"
#include "cuda_projection.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/step_graphs.h"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace citadel::llm {

// Makes `ordinal` the calling thread's current CUDA device (cudaSetDevice).
void use_cuda_device(int ordinal);

class CudaForwardPass {
 public:
  // Uploads the weights (blocking). `stream` is the cudaStream_t every step
  // runs on (null: a stream of the pass's own, which waits for the legacy
  // default stream as any blocking stream does). CUDA graphs are used unless
  // the environment sets CITADEL_CUDA_GRAPHS=0. Layers [resident_layers,
  // num_layers) stay in pinned host memory and are streamed to the GPU in
  // each step (steps are captured as graphs all the same, copies included).
  CudaForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv, void* stream,
                  uint32_t resident_layers = UINT32_MAX);
  ~CudaForwardPass();
  CudaForwardPass(const CudaForwardPass&) = delete;
  CudaForwardPass& operator=(const CudaForwardPass&) = delete;

  // As ForwardPass::run (same checks and errors): logits [chunks with
  // want_logits, vocab] on the host; the stream is synchronized on return.
  std::vector<float> run(std::span<const SequenceChunk> chunks);
  // The same into `logits` (resized): a buffer kept from step to step is
  // neither allocated nor zeroed again (llm-gptq's step; 33 MB at 64 rows of
  // a 128k vocabulary).
  void run(std::span<const SequenceChunk> chunks, std::vector<float>& logits);

  const KvGeometry& kv_geometry() const { return kv_; }
  // Steps replayed from a captured graph so far (bench, tests).
  size_t graph_replays() const { return graphs_.replays(); }
  // Host seconds of the last run() up to the step's launch (checks, tables,
  // upload, graph launch): the CPU cost of a step, the wait for the GPU aside.
  double last_host_seconds() const { return last_host_seconds_; }
  // Bytes of weights held on the device (the streamed layers' two staging
  // slots included) and of streamed layer images in pinned host memory.
  uint64_t device_weight_bytes() const;
  // Device bytes of resident layer `index` (0 for a streamed one).
  uint64_t layer_device_bytes(size_t index) const;
  uint64_t host_weight_bytes() const { return streamer_->host_image_bytes(); }
  uint32_t resident_layers() const { return streamer_->first_streamed(); }

 private:
  struct Layer {
    runtime::cuda::DeviceBuffer input_norm, post_attention_norm, q_norm, k_norm;
    std::unique_ptr<DeviceProjection> qkv, gate_up;  // fused, or null
    DeviceProjection q, k, v, o, gate, up, down;     // q/k/v, gate/up unset when fused
  };
  Layer build_layer(const LayerWeights& from, size_t index) const;
  void build_streamed_layers(const ModelWeights& weights);
  // Grow-only scratch sized for `rows` tokens, `wanted` logits rows and
  // block tables of `table_stride` entries per row; bumps generation_ when
  // a buffer is reallocated.
  void reserve(size_t rows, size_t wanted, size_t table_stride);
  // Queues the whole step (embedding .. logits) on the stream.
  void enqueue_step(int64_t rows, int64_t wanted, int64_t table_stride);
  void layer_forward(size_t layer, int64_t rows, int64_t table_stride);

  const HfModelConfig& config_;
  KvGeometry kv_;
  void* stream_ = nullptr;
  void* own_stream_ = nullptr;  // created when the caller passed none
  runtime::cuda::CublasContext cublas_;
  DeviceEmbedding embedding_;
  runtime::cuda::DeviceBuffer final_norm_, inv_freq_;
  int64_t rotary_half_ = 0;
  DeviceProjection lm_head_;
  std::unique_ptr<LayerStreamer> streamer_;  // before layers_: streamed layers point into its slots
  std::vector<Layer> layers_;

  // Per-step tables, packed into one upload: token ids, positions, rows of
  // the logits, per-token K/V write addresses, per-row block tables, lengths.
  std::vector<std::byte> staging_;
  runtime::cuda::DeviceBuffer step_tables_;
  size_t ids_at_ = 0, positions_at_ = 0, wanted_at_ = 0, slots_at_ = 0, tables_at_ = 0, lengths_at_ = 0;
  size_t rows_capacity_ = 0, wanted_capacity_ = 0;
  runtime::cuda::DeviceBuffer hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_, last_rows_, logits_;
  runtime::cuda::DeviceBuffer attention_scratch_;
  int64_t attention_splits_ = 1;
  uint64_t generation_ = 0;
  double last_host_seconds_ = 0.0;
  runtime::cuda::StepGraphs graphs_;
};

}  // namespace citadel::llm
