// The CUDA decoder pass (CUDA builds only): weights uploaded once as f16,
// every linear through cuBLAS (fp32 accumulation), RMSNorm / RoPE kernels
// of sdk/runtime/cuda, RoPE and the K/V write of all rows in one launch,
// then one attention launch for all rows of the step (each row a query with
// its chunk's block table and its own length: flash decoding for the f16
// cache, paged_attention_decode otherwise). Input rows (token embeddings with
// the encoder's rows in place of the placeholders) are made on the host as
// the CPU pass makes them and uploaded. q, k and v are one strided-batched
// GEMM when they have one width. Feed-forward of a routed layer in
// steps of up to device_routing_max_rows rows (decode steps): routing, the
// slot layout and both expert GEMMs stay on the device
// (runtime/cuda/moe_routing.h, expert_gemm.h: every expert and the shared
// experts, split into expert-wide parts, in one launch per projection), so
// the step never waits for the host. The dense layer's MLP is two cuBLAS
// GEMMs over all rows. Larger steps (prefills) route on the host: the
// router logits come back for routing (the
// CPU pass's route_from_logits); the rows of every MLP are gathered as f16
// into one expert-ordered matrix in one launch (each expert's rows padded
// to the layer's largest count), all experts run as one cuBLAS batched
// GEMM for gate and up (stacked into one weight) and one for down. Either
// way one launch adds every row's expert outputs back, weighted
// (runtime/cuda/expert_rows.h). Decode steps routed on the device read
// everything that changes from device tables, so they are replayed as CUDA
// graphs (runtime/cuda/step_graphs.h), one per row count and table stride.
#include "decoder_backend.h"

#include "cuda_decoder_weights.h"
#include "expert_batch_plan.h"
#include "moe_mlp.h"

#include "runtime/core/error.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/expert_gemm.h"
#include "runtime/cuda/expert_rows.h"
#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/moe_routing.h"
#include "runtime/cuda/paged_attention.h"
#include "runtime/cuda/pinned_buffer.h"
#include "runtime/cuda/rope_kv_write.h"
#include "runtime/cuda/step_graphs.h"
#include "runtime/cuda/step_uploads.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/rope.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

namespace citadel::deepseek_ocr {
namespace {

namespace cuda = runtime::cuda;

class CudaDecoder final : public DecoderBackend {
 public:
  CudaDecoder(const DecoderConfig& config, const DecoderWeights& weights, runtime::DType kv_dtype, void* stream,
              const CudaDecoderOptions& options)
      : config_(config), weights_(weights), kv_dtype_(kv_dtype), stream_(stream),
        device_routing_max_rows_(options.device_routing_max_rows), graphs_(options.step_graphs) {
    if (config.head_dim > 256)
      runtime::throw_invalid("deepseek-ocr CUDA: head_dim " + std::to_string(config.head_dim) + " exceeds 256");
    final_norm_ = upload_f32(weights.final_norm);
    lm_head_ = upload_linear(weights.lm_head);
    for (const DecoderLayerWeights& layer : weights.layers) layers_.push_back(upload_layer(config, layer));
    const std::vector<float> inv_freq = runtime::rope_inv_freq(config.head_dim, config.rope_theta, runtime::RopeScaling{});
    inv_freq_ = cuda::DeviceBuffer::from_vector(inv_freq, "deepseek-ocr rope table");
    cuda::check_cublas(cublasSetStream(static_cast<cublasHandle_t>(cublas_.handle()), static_cast<cudaStream_t>(stream)),
                       "cublasSetStream");
  }

  std::vector<float> run(std::span<const DecoderChunk> chunks) override;
  StepLogits run_step(std::span<const DecoderChunk> chunks) override;

 private:
  // Device scratch grown as needed; growing moves a buffer, which ends the
  // captured step graphs' generation.
  float* scratch(cuda::DeviceBuffer& buffer, size_t floats) {
    return static_cast<float*>(scratch_bytes(buffer, floats * sizeof(float)));
  }
  void* scratch_bytes(cuda::DeviceBuffer& buffer, size_t bytes) {
    if (buffer.size() < bytes) {
      buffer = cuda::DeviceBuffer(bytes, "deepseek-ocr step scratch");
      ++generation_;
    }
    return buffer.data();
  }
  // `count` values into `buffer` (grown as needed), queued on the stream
  // without waiting (StepUploads); returns the device copy.
  template <typename T>
  T* upload(cuda::DeviceBuffer& buffer, const T* values, size_t count) {
    auto* device = static_cast<T*>(scratch_bytes(buffer, std::max<size_t>(1, count) * sizeof(T)));
    uploads_.copy(device, values, count * sizeof(T), stream_);
    return device;
  }
  void linear(const DeviceLinear& w, const float* x, int64_t rows, float* y) {
    cuda::matmul_f16(cublas_, x, rows, w.in, w.weight.as<uint16_t>(), cuda::WeightLayout::out_in, w.out, y, nullptr, stream_);
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
  cuda::CublasContext cublas_;
  // Decode steps (one token a chunk, every layer routed on the device) as
  // CUDA graphs keyed by rows and table stride; generation_ counts moved
  // scratch buffers.
  cuda::StepGraphs graphs_;
  uint64_t generation_ = 0;
  cuda::DeviceBuffer final_norm_, inv_freq_;
  DeviceLinear lm_head_;
  std::vector<DeviceLayer> layers_;
  // Per step.
  // Every row's block table (its chunk's blocks, table_stride_ entries,
  // null-padded), context length and K/V slot (the address of its
  // position's row in its block), on the device.
  cuda::DeviceBuffer tables_, lengths_, write_slots_, attention_scratch_;
  int64_t table_stride_ = 0, max_context_ = 0, attention_splits_ = 1;
  cuda::DeviceBuffer positions_, hidden_, normed_, normed_half_, q_, k_, v_, attn_, proj_, gathered_, gate_up_,
      activation_, down_, router_, slots_, slot_weights_, pointers_, argmax_, routed_experts_, routed_weights_;
  std::vector<float> host_rows_;
  cuda::StepUploads uploads_;                         // every host-to-device copy of a step
  cuda::PinnedHostBuffer host_router_;                // the router logits routed on the host
  cuda::PinnedHostBuffer host_logits_, host_argmax_;  // run_step's copies
};

void CudaDecoder::run_mlps(const std::vector<const DeviceMlp*>& mlps, const std::vector<MlpAssignment>& assignments,
                           const float* x, int64_t rows, float* out) {
  const int64_t hidden = config_.hidden_size;
  const ExpertBatchPlan plan = plan_expert_batch(assignments, rows);
  const int64_t slots = plan.slots;
  if (slots == 0) return;
  // One upload of the tables: slot rows, then each row's slots.
  std::vector<int32_t> tables(plan.slot_rows);
  tables.insert(tables.end(), plan.row_slots.begin(), plan.row_slots.end());
  const int32_t* table_device = upload(slots_, tables.data(), tables.size());
  const float* weight_device = upload(slot_weights_, plan.row_weights.data(), plan.row_weights.size());

  auto* gathered = static_cast<uint16_t*>(scratch_bytes(gathered_, size_t(slots * hidden) * sizeof(uint16_t)));
  auto* gate_up = static_cast<float*>(scratch_bytes(gate_up_, size_t(plan.gate_up_floats) * sizeof(float)));
  auto* activation =
      static_cast<uint16_t*>(scratch_bytes(activation_, size_t(plan.activation_elements) * sizeof(uint16_t)));
  float* expert_out = scratch(down_, slots * hidden);
  // The batched GEMMs' operands as device arrays of device pointers: per
  // run, gate_up's weights, inputs and outputs (one array each, an entry per
  // MLP), then down's.
  std::vector<void*> pointers;  // cuBLAS takes them as void* const*
  for (const MlpRun& run : plan.runs) {
    const int64_t count = run.count();
    for (int64_t k = 0; k < count; ++k) pointers.push_back(mlps[run.begin + size_t(k)]->gate_up.data());
    for (int64_t k = 0; k < count; ++k) pointers.push_back(gathered + (run.slot + k * run.padded) * hidden);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(gate_up + run.gate_up + k * run.padded * 2 * run.width);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(mlps[run.begin + size_t(k)]->down.data());
    for (int64_t k = 0; k < count; ++k) pointers.push_back(activation + run.activation + k * run.padded * run.width);
    for (int64_t k = 0; k < count; ++k) pointers.push_back(expert_out + (run.slot + k * run.padded) * hidden);
  }
  void** pointer_device = upload(pointers_, pointers.data(), pointers.size());

  cuda::gather_rows_to_half(x, table_device, slots, hidden, gathered, stream_);
  size_t at = 0;
  for (const MlpRun& run : plan.runs) {
    const int64_t count = run.count();
    const int64_t run_slots = count * run.padded;
    // One projection of every MLP of the run: its weights, inputs and
    // outputs are the next three arrays of `count` pointers.
    // A run of one MLP (shared experts wider than the routed ones) takes the
    // plain GEMM: cuBLAS's batched call with one matrix picked a split-K
    // kernel 17x slower for the dense layer's down projection.
    const size_t host = at;
    auto batched = [&](int64_t in, int64_t out_width) {
      void* const* base = pointer_device + at;
      if (count == 1) {
        const bool first = at == host;
        const DeviceMlp& mlp = *mlps[run.begin];
        cuda::matmul_f16_input(cublas_, first ? gathered + run.slot * hidden : activation + run.activation,
                               run.padded, in, first ? mlp.gate_up.as<uint16_t>() : mlp.down.as<uint16_t>(),
                               cuda::WeightLayout::out_in, out_width,
                               first ? gate_up + run.gate_up : expert_out + run.slot * hidden, nullptr, stream_);
      } else {
        cuda::matmul_f16_input_batched(cublas_, reinterpret_cast<const uint16_t* const*>(base + count), run.padded,
                                       in, reinterpret_cast<const uint16_t* const*>(base), out_width,
                                       reinterpret_cast<float* const*>(base + 2 * count), count, stream_);
      }
      at += static_cast<size_t>(3 * count);
    };
    batched(hidden, 2 * run.width);
    cuda::silu_mul_halves_to_half(gate_up + run.gate_up, run_slots, run.width, activation + run.activation, stream_);
    batched(run.width, hidden);
  }
  cuda::add_weighted_rows(out, rows, hidden, expert_out, table_device + slots, weight_device, plan.per_row, stream_);
}

void CudaDecoder::attention(size_t layer_index, int64_t rows) {
  const DeviceLayer& layer = layers_[layer_index];
  const int64_t hidden = config_.hidden_size, heads = config_.num_heads, kv_heads = config_.num_kv_heads,
                head_dim = config_.head_dim;
  float* normed = normed_.as<float>();
  cuda::rms_norm(hidden_.as<float>(), rows, hidden, layer.input_norm.as<float>(), static_cast<float>(config_.rms_norm_eps),
                 normed, stream_);
  float* attn = scratch(attn_, rows * heads * head_dim);
  // q, k and v read the same normed rows: converted to f16 once.
  auto* normed_half = static_cast<uint16_t*>(scratch_bytes(normed_half_, size_t(rows * hidden) * sizeof(uint16_t)));
  cuda::float_to_half(normed, normed_half, rows * hidden, stream_);
  float *q = nullptr, *k = nullptr, *v = nullptr;
  if (layer.qkv.size() > 0) {
    const int64_t width = heads * head_dim;
    q = scratch(q_, 3 * rows * width);
    k = q + rows * width;
    v = k + rows * width;
    cuda::matmul_f16_input_stacked(cublas_, normed_half, rows, hidden, layer.qkv.as<uint16_t>(), width, q, 3, stream_);
  } else {
    q = scratch(q_, rows * heads * head_dim);
    k = scratch(k_, rows * kv_heads * head_dim);
    v = scratch(v_, rows * kv_heads * head_dim);
    for (auto [w, y] : {std::pair{&layer.q, q}, std::pair{&layer.k, k}, std::pair{&layer.v, v}}) {
      cuda::matmul_f16_input(cublas_, normed_half, rows, w->in, w->weight.as<uint16_t>(), cuda::WeightLayout::out_in,
                             w->out, y, nullptr, stream_);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // RoPE on q and k and every row's K/V into its slot, one launch: a view
  // with one token per "block" whose addresses are the rows' slots, at this
  // layer's offsets.
  const runtime::KvBlockView write_view =
      runtime::kv_slot_view_for_layer(write_slots_.as<void* const>(), rows, kTokensPerBlock,
                                      static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_dtype_);
  cuda::rope_kv_write(q, k, v, rows, heads, positions_.as<int32_t>(), inv_freq_.as<float>(), head_dim / 2, write_view,
                      stream_);
  const runtime::KvBlockView layout = runtime::kv_block_view_for_layer(
      nullptr, 0, kTokensPerBlock, static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_dtype_);
  auto* const* tables = tables_.as<void*>();
  if (cuda::flash_decode_supported(layout, heads)) {
    cuda::flash_decode(q, rows, heads, layout, tables, table_stride_, lengths_.as<int32_t>(), max_context_,
                       attention_splits_, scale, attention_scratch_.as<float>(), attn, stream_);
  } else {
    cuda::paged_attention_decode(q, rows, heads, layout, tables, table_stride_, lengths_.as<int32_t>(), scale, attn,
                                 stream_);
  }
  float* proj = scratch(proj_, rows * hidden);
  linear(layer.o, attn, rows, proj);
  cuda::add_in_place(hidden_.as<float>(), proj, rows * hidden, stream_);
}

void CudaDecoder::feed_forward(size_t layer_index, int64_t rows) {
  const DeviceLayer& layer = layers_[layer_index];
  const int64_t hidden = config_.hidden_size;
  float* normed = normed_.as<float>();
  cuda::rms_norm(hidden_.as<float>(), rows, hidden, layer.post_attention_norm.as<float>(),
                 static_cast<float>(config_.rms_norm_eps), normed, stream_);
  float* out = hidden_.as<float>();  // residual: the MLPs add into the hidden rows
  if (!layer.moe) {
    dense_mlp(layer.dense, normed, rows);
    return;
  }
  if (layer.device_routing && rows <= device_routing_max_rows_) {
    routed_on_device(layer, normed, rows, out);
    return;
  }
  std::vector<int32_t> all_rows(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) all_rows[static_cast<size_t>(r)] = static_cast<int32_t>(r);
  const std::vector<float> ones(static_cast<size_t>(rows), 1.0f);
  std::vector<const DeviceMlp*> mlps;
  std::vector<MlpAssignment> assignments;
  const int64_t experts = config_.n_routed_experts;
  float* logits = scratch(router_, rows * experts);
  linear(layer.router, normed, rows, logits);
  const size_t router_bytes = static_cast<size_t>(rows * experts) * sizeof(float);
  if (host_router_.size() < router_bytes)
    host_router_ = cuda::PinnedHostBuffer(router_bytes, "deepseek-ocr router logits");
  host_router_.copy_from_device_async(logits, router_bytes, 0, stream_);
  cuda::synchronize(stream_);  // the step's one wait per MoE layer: routing is on the host
  const Routing routing = route_from_logits(config_, host_router_.as<float>(), rows);
  std::vector<MlpAssignment> routed(static_cast<size_t>(experts));
  for (int64_t r = 0; r < rows; ++r) {
    for (uint32_t j = 0; j < routing.experts_per_row; ++j) {
      const size_t at = static_cast<size_t>(r * routing.experts_per_row + j);
      MlpAssignment& expert = routed[static_cast<size_t>(routing.expert[at])];
      expert.rows.push_back(static_cast<int32_t>(r));
      expert.weights.push_back(routing.weight[at]);
    }
  }
  for (int64_t e = 0; e < experts; ++e) {
    MlpAssignment& expert = routed[static_cast<size_t>(e)];
    if (expert.rows.empty()) continue;
    expert.width = layer.experts[static_cast<size_t>(e)].width;
    mlps.push_back(&layer.experts[static_cast<size_t>(e)]);
    assignments.push_back(std::move(expert));
  }
  for (const DeviceMlp& shared : layer.shared) {
    mlps.push_back(&shared);
    assignments.push_back(MlpAssignment{shared.width, all_rows, ones});
  }
  run_mlps(mlps, assignments, normed, rows, out);
}

void CudaDecoder::dense_mlp(const DeviceMlp& mlp, const float* normed, int64_t rows) {
  const int64_t hidden = config_.hidden_size;
  auto* x = static_cast<uint16_t*>(scratch_bytes(normed_half_, size_t(rows * hidden) * sizeof(uint16_t)));
  cuda::float_to_half(normed, x, rows * hidden, stream_);
  float* gate_up = scratch(gate_up_, rows * 2 * mlp.width);
  cuda::matmul_f16_input(cublas_, x, rows, hidden, mlp.gate_up.as<uint16_t>(), cuda::WeightLayout::out_in,
                         2 * mlp.width, gate_up, nullptr, stream_);
  auto* activation = static_cast<uint16_t*>(scratch_bytes(activation_, size_t(rows * mlp.width) * sizeof(uint16_t)));
  cuda::silu_mul_halves_to_half(gate_up, rows, mlp.width, activation, stream_);
  float* proj = scratch(proj_, rows * hidden);
  cuda::matmul_f16_input(cublas_, activation, rows, mlp.width, mlp.down.as<uint16_t>(), cuda::WeightLayout::out_in,
                         hidden, proj, nullptr, stream_);
  cuda::add_in_place(hidden_.as<float>(), proj, rows * hidden, stream_);
}

void CudaDecoder::routed_on_device(const DeviceLayer& layer, const float* normed, int64_t rows, float* out) {
  const int64_t hidden = config_.hidden_size, width = config_.moe_intermediate_size;
  const int experts = static_cast<int>(layer.experts.size()), k = static_cast<int>(config_.experts_per_token);
  const int shared = static_cast<int>(layer.shared.size());
  const int64_t groups = experts + shared, per_row = k + shared, slots = rows * per_row;
  float* logits = scratch(router_, rows * experts);
  linear(layer.router, normed, rows, logits);
  auto* chosen = static_cast<int32_t*>(scratch_bytes(routed_experts_, size_t(rows * k) * sizeof(int32_t)));
  float* chosen_weights = scratch(routed_weights_, rows * k);
  cuda::route_top_k(logits, rows, experts, k, config_.norm_topk_prob, static_cast<float>(config_.routed_scaling_factor),
                    chosen, chosen_weights, stream_);
  // slots_: the group offsets (groups + 1), then each slot's row, then each
  // row's slots.
  auto* offsets = static_cast<int32_t*>(scratch_bytes(slots_, size_t(groups + 1 + 2 * slots) * sizeof(int32_t)));
  int32_t* slot_rows = offsets + groups + 1;
  int32_t* row_slots = slot_rows + slots;
  float* row_weights = scratch(slot_weights_, slots);
  cuda::plan_expert_slots(chosen, chosen_weights, rows, k, experts, shared, offsets, slot_rows, row_slots, row_weights,
                          stream_);
  auto* gathered = static_cast<uint16_t*>(scratch_bytes(gathered_, size_t(slots * hidden) * sizeof(uint16_t)));
  cuda::gather_rows_to_half(normed, slot_rows, slots, hidden, gathered, stream_);
  auto* activation = static_cast<uint16_t*>(scratch_bytes(activation_, size_t(slots * width) * sizeof(uint16_t)));
  cuda::expert_gemm_f16(gathered, hidden, layer.gate_up_pointers.as<const uint16_t* const>(), width, offsets, groups,
                        rows, cuda::ExpertGemmOutput::silu_mul_f16, activation, stream_);
  float* expert_out = scratch(down_, slots * hidden);
  cuda::expert_gemm_f16(activation, width, layer.down_pointers.as<const uint16_t* const>(), hidden, offsets, groups,
                        rows, cuda::ExpertGemmOutput::f32, expert_out, stream_);
  cuda::add_weighted_rows(out, rows, hidden, expert_out, row_slots, row_weights, per_row, stream_);
}

std::vector<float> CudaDecoder::run(std::span<const DecoderChunk> chunks) {
  const int64_t count = launch(chunks);
  if (count == 0) return {};
  std::vector<float> host(static_cast<size_t>(count) * config_.vocab_size);
  down_.download(host.data(), host.size() * sizeof(float), 0, stream_);
  return host;
}

CudaDecoder::StepLogits CudaDecoder::run_step(std::span<const DecoderChunk> chunks) {
  const int64_t count = launch(chunks);
  if (count == 0) return {};
  const size_t wanted = static_cast<size_t>(count), row_bytes = config_.vocab_size * sizeof(float);
  if (host_logits_.size() < wanted * row_bytes) {
    host_logits_ = cuda::PinnedHostBuffer(wanted * row_bytes, "deepseek-ocr step logits");
    host_argmax_ = cuda::PinnedHostBuffer(wanted * sizeof(int32_t), "deepseek-ocr step logits argmax");
  }
  host_argmax_.copy_from_device_async(argmax_.data(), wanted * sizeof(int32_t), 0, stream_);
  size_t row = 0;
  for (const DecoderChunk& chunk : chunks) {
    if (!chunk.want_logits || chunk.tokens.empty()) continue;
    if (!chunk.argmax_only) {
      host_logits_.copy_from_device_async(static_cast<const std::byte*>(down_.data()) + row * row_bytes, row_bytes,
                                          row * row_bytes, stream_);
    }
    ++row;
  }
  cuda::synchronize(stream_);
  return StepLogits{std::span<float>(host_logits_.as<float>(), wanted * config_.vocab_size),
                    std::span<const int32_t>(host_argmax_.as<int32_t>(), wanted)};
}

int64_t CudaDecoder::launch(std::span<const DecoderChunk> chunks) {
  const int64_t hidden = config_.hidden_size;
  std::vector<int32_t> positions;
  size_t max_blocks = 1;
  bool decode_only = true;  // one token a chunk, each wanting logits
  for (const DecoderChunk& chunk : chunks) {
    const uint64_t end = uint64_t{chunk.first_position} + chunk.tokens.size();
    if (end > config_.max_position_embeddings || end > chunk.blocks.size() * uint64_t{kTokensPerBlock})
      runtime::throw_invalid("deepseek-ocr CUDA: positions up to " + std::to_string(end) +
                             " exceed the context or the step's cache blocks");
    for (size_t t = 0; t < chunk.tokens.size(); ++t) positions.push_back(static_cast<int32_t>(chunk.first_position + t));
    max_blocks = std::max(max_blocks, chunk.blocks.size());
    decode_only &= chunk.tokens.size() == 1 && chunk.want_logits;
  }
  const int64_t rows = static_cast<int64_t>(positions.size());
  if (rows == 0) return 0;
  // The table stride and the attention's context bound in powers of two,
  // so that decode steps share a graph for 16 x stride positions.
  table_stride_ = static_cast<int64_t>(std::bit_ceil(max_blocks));
  max_context_ = table_stride_ * kTokensPerBlock;
  // Steps end with the stream synchronized; this wait only matters after a
  // step that threw half-way, whose copies may still read the arena.
  cuda::synchronize(stream_);
  uploads_.begin_step();
  upload(positions_, positions.data(), positions.size());
  std::vector<void*> tables(static_cast<size_t>(rows * table_stride_), nullptr);
  std::vector<int32_t> lengths(static_cast<size_t>(rows));
  std::vector<void*> write_slots(static_cast<size_t>(rows));
  int64_t table_row = 0;
  for (const DecoderChunk& chunk : chunks) {
    for (size_t t = 0; t < chunk.tokens.size(); ++t, ++table_row) {
      const uint32_t position = chunk.first_position + static_cast<uint32_t>(t);
      std::copy(chunk.blocks.begin(), chunk.blocks.end(), tables.begin() + table_row * table_stride_);
      lengths[static_cast<size_t>(table_row)] = static_cast<int32_t>(position + 1);
      write_slots[static_cast<size_t>(table_row)] = runtime::kv_token_slot(
          chunk.blocks.data(), kTokensPerBlock, position, config_.num_kv_heads, config_.head_dim, kv_dtype_);
    }
  }
  upload(tables_, tables.data(), tables.size());
  upload(lengths_, lengths.data(), lengths.size());
  upload(write_slots_, write_slots.data(), write_slots.size());
  attention_splits_ = cuda::flash_decode_splits(rows, config_.num_kv_heads, config_.head_dim, max_context_);
  scratch_bytes(attention_scratch_,
                std::max<size_t>(16, sizeof(float) * cuda::flash_decode_scratch_floats(
                                         rows, config_.num_heads, config_.head_dim, attention_splits_)));
  // Input rows on the host (token embeddings, the encoder's rows at placeholders).
  host_rows_.assign(static_cast<size_t>(rows) * hidden, 0.0f);
  int64_t row = 0;
  for (const DecoderChunk& chunk : chunks) {
    const int64_t count = static_cast<int64_t>(chunk.tokens.size());
    weights_.embed(chunk.tokens.data(), count, host_rows_.data() + row * hidden);
    for (int64_t t = 0; t < count && chunk.image.count > 0; ++t) {
      const uint64_t position = chunk.first_position + t;
      if (position >= chunk.image.begin && position < uint64_t{chunk.image.begin} + chunk.image.count)
        std::memcpy(host_rows_.data() + (row + t) * hidden, chunk.image.rows + (position - chunk.image.begin) * hidden,
                    hidden * sizeof(float));
    }
    row += count;
  }
  upload(hidden_, host_rows_.data(), host_rows_.size());
  // The last row of each chunk that wants logits.
  std::vector<int64_t> wanted;
  row = 0;
  for (const DecoderChunk& chunk : chunks) {
    row += static_cast<int64_t>(chunk.tokens.size());
    if (chunk.want_logits && !chunk.tokens.empty()) wanted.push_back(row - 1);
  }
  const int64_t count = static_cast<int64_t>(wanted.size());
  bool routed_on_device = rows <= device_routing_max_rows_;
  for (const DeviceLayer& layer : layers_) routed_on_device &= !layer.moe || layer.device_routing;
  if (decode_only && routed_on_device) {
    // Everything the step reads that changes is in the device tables above:
    // replayed as a graph (runtime/cuda/step_graphs.h).
    graphs_.run({rows, table_stride_, attention_splits_, 0}, generation_ + (cublas_.generation() << 32), stream_,
                [&] { enqueue_step(rows, {}, count); });
  } else {
    enqueue_step(rows, wanted, count);
  }
  if (count == 0) cuda::synchronize(stream_);
  return count;
}

void CudaDecoder::enqueue_step(int64_t rows, std::span<const int64_t> wanted_rows, int64_t wanted) {
  const int64_t hidden = config_.hidden_size;
  scratch(normed_, rows * hidden);
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    attention(layer, rows);
    feed_forward(layer, rows);
  }
  if (wanted == 0) return;
  float* last = scratch(proj_, wanted * hidden);
  if (wanted_rows.empty()) {
    cuda::rms_norm(hidden_.as<float>(), wanted, hidden, final_norm_.as<float>(), static_cast<float>(config_.rms_norm_eps),
                   last, stream_);
  } else {
    for (int64_t i = 0; i < wanted; ++i)
      cuda::check_cuda(cudaMemcpyAsync(last + i * hidden, hidden_.as<float>() + wanted_rows[size_t(i)] * hidden,
                                       hidden * sizeof(float), cudaMemcpyDeviceToDevice,
                                       static_cast<cudaStream_t>(stream_)),
                       "gather last rows");
    cuda::rms_norm(last, wanted, hidden, final_norm_.as<float>(), static_cast<float>(config_.rms_norm_eps), last,
                   stream_);
  }
  float* logits = scratch(down_, wanted * config_.vocab_size);
  linear(lm_head_, last, wanted, logits);
  scratch_bytes(argmax_, static_cast<size_t>(wanted) * sizeof(int32_t));
  cuda::argmax_rows(logits, wanted, static_cast<int64_t>(config_.vocab_size), argmax_.as<int32_t>(), stream_);
}

}  // namespace

std::unique_ptr<DecoderBackend> make_cuda_decoder(const DecoderConfig& config, const DecoderWeights& weights,
                                                  runtime::DType kv_dtype, int ordinal, void* stream,
                                                  const CudaDecoderOptions& options) {
  if (ordinal >= 0) cuda::check_cuda(cudaSetDevice(ordinal), "cudaSetDevice");
  return std::make_unique<CudaDecoder>(config, weights, kv_dtype, stream, options);
}

}  // namespace citadel::deepseek_ocr
