// cuda_forward.h — the CUDA forward pass of llm-gptq, the GPU twin of
// ForwardPass (forward.h): same SequenceChunk input, except that the chunks'
// block addresses are device pointers (the host's CUDA cache pool, or
// cudaMalloc'd blocks in the tests). Weights are uploaded once at
// construction (q/k/v and gate/up fused where their GPTQ layouts allow);
// run() uploads the step's tables (token ids, positions, K/V slots, block
// tables, lengths) into fixed device buffers, queues the step (replayed as a
// CUDA graph per shape after its first run, see StepGraphs) and returns the
// logits on the host (run_step: only the rows the caller samples from, and
// every row's argmax). Used by LlmModel on CUDA devices, by
// TensorParallelForward (one pass a rank, TensorParallelRank below),
// tests/llm_cuda and bench/llm_decode --cuda. Only compiled when CITADEL_HAVE_CUDA. Layers from
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

#include "runtime/core/block_table_mirror.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/linear_epilogue.h"
#include "runtime/cuda/pinned_buffer.h"
#include "runtime/cuda/stage_timer.h"
#include "runtime/cuda/step_graphs.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace citadel::llm {

// Makes `ordinal` the calling thread's current CUDA device (cudaSetDevice).
void use_cuda_device(int ordinal);
// CUDA devices the process sees (cudaGetDeviceCount).
int cuda_device_count();

// The parts of a step a StageTimer attached to the pass reports, in order
// (bench_llm_decode --cuda --stages): the RMSNorm before a projection counts
// with the projection, the final norm and the argmax with the lm_head.
enum class StepStage { embedding, qkv, rope_kv_write, attention, o, gate_up, down, logits, count };
std::vector<std::string> step_stage_names();

// A pass that is rank `rank` of a tensor-parallel group
// (tensor_parallel_forward.h): its weights are that rank's shard, and the
// o and down projections' partial sums go through `group` before they join
// the residual stream. Steps are captured as graphs only when the group's
// sum is capturable (NCCL).
struct TensorParallelRank {
  runtime::AllReduce* group = nullptr;
  int rank = 0;
};

class CudaForwardPass {
 public:
  // Uploads the weights (blocking). `stream` is the cudaStream_t every step
  // runs on (null: a stream of the pass's own, which waits for the legacy
  // default stream as any blocking stream does). CUDA graphs are used unless
  // the environment sets CITADEL_CUDA_GRAPHS=0. Layers [resident_layers,
  // num_layers) stay in pinned host memory and are streamed to the GPU in
  // each step (steps are captured as graphs all the same, copies included).
  CudaForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv, void* stream,
                  uint32_t resident_layers = UINT32_MAX, TensorParallelRank tensor_parallel = {});
  ~CudaForwardPass();
  CudaForwardPass(const CudaForwardPass&) = delete;
  CudaForwardPass& operator=(const CudaForwardPass&) = delete;

  // As ForwardPass::run (same checks and errors): logits [chunks with
  // want_logits, vocab] on the host; the stream is synchronized on return.
  std::vector<float> run(std::span<const SequenceChunk> chunks);

  // One step's results in the pass's host memory (pinned), valid until the
  // next run: rows as run() returns them, except that the rows of
  // argmax_only chunks are not copied (left as they were); argmax holds
  // every row's argmax (lowest index among equals, as runtime::argmax),
  // computed on the device. Greedy rows then cost 4 bytes of copy instead
  // of a vocabulary of floats (0.5 MB at 128k ids).
  struct StepLogits {
    std::span<float> rows;            // [wanted rows, vocab]
    std::span<const int32_t> argmax;  // [wanted rows]
  };
  // llm-gptq's step: as run(), into StepLogits.
  StepLogits run_step(std::span<const SequenceChunk> chunks);
  // Logits rows run_step copies into pinned memory; a step with more
  // (prompt logprobs over a long prompt) copies into pageable memory.
  static constexpr size_t kPinnedLogitsRows = 256;

  // Times the parts of every later step with `timer` (made with
  // step_stage_names(); null detaches). While attached, steps run eagerly,
  // not from graphs, and each run synchronizes into the timer's totals.
  void attach_stage_timer(runtime::cuda::StageTimer* timer) { stage_timer_ = timer; }

  const KvGeometry& kv_geometry() const { return kv_; }
  // The cudaStream_t every step runs on.
  void* stream() const { return stream_; }
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
  // Checks the chunks, uploads the step's tables and launches the step;
  // returns the number of logits rows it computes. Nothing is launched
  // when the chunks hold no token.
  size_t launch(std::span<const SequenceChunk> chunks);
  // Queues the whole step (embedding .. logits, their argmax) on the stream.
  void enqueue_step(int64_t rows, int64_t wanted, int64_t table_stride);
  void layer_forward(size_t layer, int64_t rows, int64_t table_stride);
  // Marks the start of `stage` on the attached StageTimer, if any.
  void mark(StepStage stage) const;
  // A row-split projection's epilogue: the residual add, or, for a rank of
  // a tensor-parallel group, rank 0's residual add and the other ranks'
  // partial sums stored, to be summed by finish_row_split().
  runtime::cuda::LinearEpilogue row_split_epilogue() const;
  void finish_row_split(int64_t rows) const;

  const HfModelConfig& config_;
  KvGeometry kv_;
  TensorParallelRank tensor_parallel_;
  void* stream_ = nullptr;
  void* own_stream_ = nullptr;  // created when the caller passed none
  runtime::cuda::CublasContext cublas_;
  DeviceEmbedding embedding_;
  runtime::cuda::DeviceBuffer final_norm_, inv_freq_;
  int64_t rotary_half_ = 0;
  DeviceProjection lm_head_;
  std::unique_ptr<LayerStreamer> streamer_;  // before layers_: streamed layers point into its slots
  std::vector<Layer> layers_;

  // Per-step tables, packed into one pinned upload: token ids, positions,
  // rows of the logits, per-token K/V write addresses, lengths. Launches
  // write the pinned buffers only after the previous step's copies are done
  // (run and run_step synchronize the stream before they return).
  runtime::cuda::PinnedHostBuffer staging_;
  runtime::cuda::DeviceBuffer step_tables_;
  size_t ids_at_ = 0, positions_at_ = 0, wanted_at_ = 0, slots_at_ = 0, lengths_at_ = 0, step_bytes_ = 0;
  // Per-row block tables (row r at entry r * stride) kept on the device
  // across steps; the mirror sends only the entries that changed.
  runtime::cuda::PinnedHostBuffer host_tables_;
  runtime::cuda::DeviceBuffer block_tables_;
  runtime::BlockTableMirror table_mirror_;
  size_t rows_capacity_ = 0, wanted_capacity_ = 0;
  runtime::cuda::DeviceBuffer hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_, last_rows_, logits_, argmax_;
  runtime::cuda::PinnedHostBuffer host_logits_, host_argmax_;  // run_step's copies
  std::vector<float> overflow_logits_;                         // past kPinnedLogitsRows
  runtime::cuda::DeviceBuffer attention_scratch_;
  int64_t attention_splits_ = 1;
  uint64_t generation_ = 0;
  double last_host_seconds_ = 0.0;
  runtime::cuda::StepGraphs graphs_;
  runtime::cuda::StageTimer* stage_timer_ = nullptr;
};

}  // namespace citadel::llm
