// The CUDA forward pass: the steps of forward.cpp on device buffers with the
// kernels of sdk/runtime/cuda. Per step one packed upload carries the token
// ids, positions and K/V write addresses, and the block tables (a
// power-of-two stride per row, so steps of one shape share a graph) stay on
// the device, with only their changed entries sent; each layer then runs one KV
// write and one flash-decoding attention launch for all rows of the step
// (every row is its own "sequence" with its chunk's block table and its own
// length). Fused layers: q/k/v in one GEMV with a three-way store, gate/up in
// one with SiLU·mul, o and down add into the residual stream.
#include "cuda_forward.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/paged_attention.h"
#include "runtime/cuda/rope_kv_write.h"
#include "runtime/kernels/attention.h"
#include "runtime/kernels/rope.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace citadel::llm {

namespace cuda = runtime::cuda;

namespace {

cuda::DeviceBuffer upload_f32(const runtime::Tensor& tensor, const char* what) {
  if (!tensor.defined()) return {};
  if (tensor.dtype() != runtime::DType::f32) {
    runtime::throw_invalid(std::string(what) + ": expected an f32 tensor, got " + tensor.description());
  }
  return cuda::DeviceBuffer::from_host(tensor.data(), tensor.nbytes(), what);
}

size_t align16(size_t bytes) { return (bytes + 15) & ~size_t{15}; }

// Reallocates `buffer` when smaller than `bytes`; true when it did.
bool grow(cuda::DeviceBuffer& buffer, size_t bytes, const char* what) {
  if (buffer.size() >= bytes) return false;
  buffer = cuda::DeviceBuffer();
  buffer = cuda::DeviceBuffer(bytes, what);
  return true;
}

bool graphs_wanted() {
  const char* value = std::getenv("CITADEL_CUDA_GRAPHS");
  return value == nullptr || std::string(value) != "0";
}

}  // namespace

void use_cuda_device(int ordinal) {
  if (ordinal >= 0) cuda::check_cuda(cudaSetDevice(ordinal), "cudaSetDevice");
}

int cuda_device_count() {
  int count = 0;
  cuda::check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  return count;
}

CudaForwardPass::CudaForwardPass(const HfModelConfig& config, const ModelWeights& weights, KvGeometry kv,
                                 void* stream, uint32_t resident_layers, TensorParallelRank tensor_parallel)
    : config_(config), kv_(kv), tensor_parallel_(tensor_parallel), stream_(stream),
      graphs_(graphs_wanted() && (tensor_parallel.group == nullptr || tensor_parallel.group->capturable())) {
  if (kv_.head_dim > 256) {
    runtime::throw_invalid("llm-gptq CUDA: head_dim " + std::to_string(kv_.head_dim) + " exceeds 256");
  }
  final_norm_ = upload_f32(weights.final_norm, "model.norm.weight");
  const std::vector<float> inv_freq =
      runtime::rope_inv_freq(config.head_dim, config.rope.theta, rope_scaling(config.rope));
  rotary_half_ = static_cast<int64_t>(inv_freq.size());
  inv_freq_ = cuda::DeviceBuffer::from_vector(inv_freq, "rope inv_freq");
  lm_head_ = DeviceProjection(weights.lm_head);
  embedding_ = DeviceEmbedding(weights, lm_head_.ggml_layer());  // tied GGUF tables share its blocks
  const auto layer_count = static_cast<uint32_t>(weights.layers.size());
  streamer_ = std::make_unique<LayerStreamer>(std::min(resident_layers, layer_count), layer_count);
  layers_.resize(weights.layers.size());
  for (size_t i = 0; i < streamer_->first_streamed(); ++i) layers_[i] = build_layer(weights.layers[i], i);
  if (streamer_->active()) build_streamed_layers(weights);
  if (stream_ == nullptr) {
    cudaStream_t own = nullptr;
    cuda::check_cuda(cudaStreamCreate(&own), "cudaStreamCreate (llm-gptq forward pass)");
    own_stream_ = own;
    stream_ = own;
  }
}

CudaForwardPass::Layer CudaForwardPass::build_layer(const LayerWeights& from, size_t i) const {
  Layer to;
  to.input_norm = upload_f32(from.input_norm, "input_layernorm");
  to.post_attention_norm = upload_f32(from.post_attention_norm, "post_attention_layernorm");
  if (config_.qk_norm) {
    to.q_norm = upload_f32(from.q_norm, "q_norm");
    to.k_norm = upload_f32(from.k_norm, "k_norm");
  }
  const std::string prefix = "model.layers." + std::to_string(i);
  const Projection* qkv[] = {&from.q, &from.k, &from.v};
  to.qkv = DeviceProjection::fused(qkv, cuda::GptqLinearCuda::Fusion::concat, prefix + ".self_attn.qkv_proj");
  if (!to.qkv) {
    to.q = DeviceProjection(from.q);
    to.k = DeviceProjection(from.k);
    to.v = DeviceProjection(from.v);
  }
  to.o = DeviceProjection(from.o);
  const Projection* gate_up[] = {&from.gate, &from.up};
  to.gate_up = DeviceProjection::fused(gate_up, cuda::GptqLinearCuda::Fusion::gate_up, prefix + ".mlp.gate_up_proj");
  if (!to.gate_up) {
    to.gate = DeviceProjection(from.gate);
    to.up = DeviceProjection(from.up);
  }
  to.down = DeviceProjection(from.down);
  return to;
}

void CudaForwardPass::build_streamed_layers(const ModelWeights& weights) {
  // Size the slots: build each streamed layer once with real allocations,
  // tracking the offsets a slot would use (temporaries of repacking included).
  size_t layer_bytes = 0, peak_bytes = 0;
  for (size_t i = streamer_->first_streamed(); i < layers_.size(); ++i) {
    BumpPlacement measure(nullptr, 0);
    {
      cuda::ScopedDevicePlacement scope(&measure);
      const Layer probe = build_layer(weights.layers[i], i);
      layer_bytes = std::max(layer_bytes, measure.top());
    }
    peak_bytes = std::max(peak_bytes, measure.peak());
  }
  streamer_->allocate_slots(layer_bytes, peak_bytes);
  // Then build each into its slot for good and keep the slot's bytes as the
  // layer's pinned image.
  for (size_t i = streamer_->first_streamed(); i < layers_.size(); ++i) {
    {
      cuda::ScopedDevicePlacement scope(streamer_->placement_for(i));
      layers_[i] = build_layer(weights.layers[i], i);
    }
    streamer_->take_image(i);
  }
}

CudaForwardPass::~CudaForwardPass() {
  if (own_stream_ != nullptr) {
    cudaStreamSynchronize(static_cast<cudaStream_t>(own_stream_));
    cudaStreamDestroy(static_cast<cudaStream_t>(own_stream_));
  }
}

uint64_t CudaForwardPass::layer_device_bytes(size_t index) const {
  if (streamer_->streamed(index)) return 0;
  const Layer& layer = layers_.at(index);
  uint64_t bytes = layer.input_norm.size() + layer.post_attention_norm.size() + layer.q_norm.size() + layer.k_norm.size();
  const DeviceProjection* fused[] = {layer.qkv.get(), layer.gate_up.get()};
  for (const DeviceProjection* p : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down,
                                    fused[0], fused[1]}) {
    if (p != nullptr) bytes += p->device_bytes();
  }
  return bytes;
}

uint64_t CudaForwardPass::device_weight_bytes() const {
  uint64_t bytes = embedding_.device_bytes() + final_norm_.size() + lm_head_.device_bytes();
  bytes += streamer_->slot_device_bytes();
  for (size_t i = 0; i < layers_.size(); ++i) bytes += layer_device_bytes(i);
  return bytes;
}

void CudaForwardPass::reserve(size_t rows, size_t wanted, size_t table_stride) {
  const size_t hidden = config_.hidden_size, heads = config_.num_heads, kv_heads = config_.num_kv_heads;
  const size_t head_dim = config_.head_dim, ffn = config_.intermediate_size;
  bool moved = false;
  if (rows > rows_capacity_) {
    rows_capacity_ = rows;
    const size_t f = sizeof(float);
    hidden_ = cuda::DeviceBuffer(rows * hidden * f, "hidden states");
    normed_ = cuda::DeviceBuffer(rows * hidden * f, "normed states");
    q_ = cuda::DeviceBuffer(rows * heads * head_dim * f, "queries");
    k_ = cuda::DeviceBuffer(rows * kv_heads * head_dim * f, "keys");
    v_ = cuda::DeviceBuffer(rows * kv_heads * head_dim * f, "values");
    attn_ = cuda::DeviceBuffer(rows * heads * head_dim * f, "attention output");
    proj_ = cuda::DeviceBuffer(rows * hidden * f, "projection output");
    gate_ = cuda::DeviceBuffer(rows * ffn * f, "mlp gate");
    up_ = cuda::DeviceBuffer(rows * ffn * f, "mlp up");
    moved = true;
  }
  if (wanted > wanted_capacity_) {
    wanted_capacity_ = wanted;
    last_rows_ = cuda::DeviceBuffer(wanted * hidden * sizeof(float), "last rows");
    logits_ = cuda::DeviceBuffer(wanted * lm_head_.out_features() * sizeof(float), "logits");
    argmax_ = cuda::DeviceBuffer(wanted * sizeof(int32_t), "logits argmax");
    host_logits_ = cuda::PinnedHostBuffer(std::min(wanted, kPinnedLogitsRows) * lm_head_.out_features() * sizeof(float),
                                          "step logits");
    host_argmax_ = cuda::PinnedHostBuffer(wanted * sizeof(int32_t), "step logits argmax");
    moved = true;
  }
  attention_splits_ = cuda::flash_decode_splits(static_cast<int64_t>(rows), kv_heads, static_cast<int64_t>(head_dim),
                                                static_cast<int64_t>(table_stride * kTokensPerBlock));
  moved |= grow(attention_scratch_,
                std::max<size_t>(16, sizeof(float) * cuda::flash_decode_scratch_floats(
                                         static_cast<int64_t>(rows), heads, head_dim, attention_splits_)),
                "attention split scratch");
  ids_at_ = 0;
  positions_at_ = ids_at_ + align16(rows * sizeof(int32_t));
  wanted_at_ = positions_at_ + align16(rows * sizeof(int32_t));
  slots_at_ = wanted_at_ + align16(wanted * sizeof(int32_t));
  lengths_at_ = slots_at_ + align16(rows * sizeof(void*));
  step_bytes_ = lengths_at_ + align16(rows * sizeof(int32_t));
  if (staging_.size() < step_bytes_) staging_ = cuda::PinnedHostBuffer(step_bytes_, "step tables");
  moved |= grow(step_tables_, step_bytes_, "step tables");
  // Block tables: row r at entry r * table_stride, for as many rows as the
  // other buffers hold. A new layout or a new device copy is sent whole.
  const size_t table_bytes = rows_capacity_ * table_stride * sizeof(void*);
  const bool tables_moved = grow(block_tables_, table_bytes, "block tables");
  if (host_tables_.size() < table_bytes) host_tables_ = cuda::PinnedHostBuffer(table_bytes, "block tables");
  if (tables_moved || table_mirror_.stride() != table_stride || table_mirror_.rows() != rows_capacity_ ||
      table_mirror_.base() != host_tables_.as<void*>()) {
    table_mirror_.reset(host_tables_.as<void*>(), rows_capacity_, table_stride);
  }
  moved |= tables_moved;
  if (moved) ++generation_;
}

std::vector<float> CudaForwardPass::run(std::span<const SequenceChunk> chunks) {
  const size_t wanted = launch(chunks);
  std::vector<float> logits(wanted * lm_head_.out_features());
  if (wanted == 0) {
    cuda::synchronize(stream_);
    return logits;
  }
  logits_.download(logits.data(), logits.size() * sizeof(float), 0, stream_);
  return logits;
}

CudaForwardPass::StepLogits CudaForwardPass::run_step(std::span<const SequenceChunk> chunks) {
  const size_t wanted = launch(chunks);
  if (wanted == 0) {
    cuda::synchronize(stream_);
    return {};
  }
  const size_t row_bytes = lm_head_.out_features() * sizeof(float);
  host_argmax_.copy_from_device_async(argmax_.data(), wanted * sizeof(int32_t), 0, stream_);
  // Past kPinnedLogitsRows (prompt logprobs of long prompts) the rows go to
  // pageable memory rather than pinning gigabytes for good.
  const bool pinned = wanted <= kPinnedLogitsRows;
  if (!pinned) overflow_logits_.resize(wanted * lm_head_.out_features());
  auto* host = pinned ? host_logits_.as<float>() : overflow_logits_.data();
  // The rows of chunks that sample otherwise than greedily, or report
  // logprobs, in runs of adjacent rows.
  size_t row = 0, run_start = 0, run_rows = 0;
  auto flush = [&] {
    if (run_rows > 0 && pinned) {
      host_logits_.copy_from_device_async(static_cast<const std::byte*>(logits_.data()) + run_start * row_bytes,
                                          run_rows * row_bytes, run_start * row_bytes, stream_);
    } else if (run_rows > 0) {
      logits_.download(overflow_logits_.data() + run_start * lm_head_.out_features(), run_rows * row_bytes,
                       run_start * row_bytes, stream_);
    }
    run_rows = 0;
  };
  for (const SequenceChunk& chunk : chunks) {
    const size_t rows = logits_rows(chunk);
    if (rows > 0 && !chunk.argmax_only) {
      if (run_rows == 0) run_start = row;
      run_rows += rows;
    } else {
      flush();
    }
    row += rows;
  }
  flush();
  cuda::synchronize(stream_);
  return StepLogits{std::span<float>(host, wanted * lm_head_.out_features()),
                    std::span<const int32_t>(host_argmax_.as<int32_t>(), wanted)};
}

size_t CudaForwardPass::launch(std::span<const SequenceChunk> chunks) {
  const auto started = std::chrono::steady_clock::now();
  size_t rows = 0, wanted = 0, max_blocks = 1;
  for (const SequenceChunk& chunk : chunks) {
    check_chunk_fits(config_, chunk);
    for (int32_t id : chunk.tokens) {
      if (id < 0 || static_cast<uint64_t>(id) >= config_.vocab_size) {
        runtime::throw_invalid("token id " + std::to_string(id) + " is outside the vocabulary of " +
                               std::to_string(config_.vocab_size));
      }
    }
    rows += chunk.tokens.size();
    wanted += logits_rows(chunk);
    max_blocks = std::max(max_blocks, chunk.blocks.size());
  }
  if (rows == 0) return 0;
  const size_t table_stride = std::bit_ceil(max_blocks);
  reserve(rows, wanted, table_stride);

  // Fill the step tables on the host.
  auto* host = staging_.as<std::byte>();
  auto* ids = reinterpret_cast<int32_t*>(host + ids_at_);
  auto* positions = reinterpret_cast<int32_t*>(host + positions_at_);
  auto* wanted_rows = reinterpret_cast<int32_t*>(host + wanted_at_);
  auto* slots = reinterpret_cast<void**>(host + slots_at_);
  auto* lengths = reinterpret_cast<int32_t*>(host + lengths_at_);
  size_t row = 0, wanted_index = 0;
  for (const SequenceChunk& chunk : chunks) {
    for (size_t t = 0; t < chunk.tokens.size(); ++t, ++row) {
      const uint32_t position = chunk.first_position + static_cast<uint32_t>(t);
      ids[row] = chunk.tokens[t];
      positions[row] = static_cast<int32_t>(position);
      lengths[row] = static_cast<int32_t>(position + 1);
      slots[row] = runtime::kv_token_slot(chunk.blocks.data(), kTokensPerBlock, position, kv_.num_kv_heads,
                                          kv_.head_dim, kv_.dtype);
      table_mirror_.set_row(row, chunk.blocks);
    }
    for (size_t r = row - logits_rows(chunk); r < row; ++r) wanted_rows[wanted_index++] = static_cast<int32_t>(r);
  }
  staging_.copy_to_device_async(step_tables_.data(), step_bytes_, 0, stream_);
  // Only the block-table entries that changed (at decode, a row's new block
  // every 16 tokens); ranges closer than 64 KB go as one copy.
  try {
    for (const runtime::BlockTableMirror::ByteRange& range : table_mirror_.take_changes(size_t{64} << 10)) {
      host_tables_.copy_to_device_async(static_cast<std::byte*>(block_tables_.data()) + range.begin,
                                        range.end - range.begin, range.begin, stream_);
    }
  } catch (...) {
    // The device copy is no longer known: the next step sends every table.
    table_mirror_.reset(host_tables_.as<void*>(), table_mirror_.rows(), table_mirror_.stride());
    throw;
  }

  const auto n = static_cast<int64_t>(rows), w = static_cast<int64_t>(wanted);
  const auto stride = static_cast<int64_t>(table_stride);
  if (stage_timer_ != nullptr) {
    enqueue_step(n, w, stride);
    stage_timer_->end_pass();
  } else {
    graphs_.run({n, w, stride, 0}, generation_ + (cublas_.generation() << 32), stream_,
                [&] { enqueue_step(n, w, stride); });
  }
  last_host_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return wanted;
}

std::vector<std::string> step_stage_names() {
  return {"embedding", "norm + qkv", "rope + kv write", "attention", "o", "norm + gate_up", "down",
          "norm + lm_head + argmax"};
}

void CudaForwardPass::mark(StepStage stage) const {
  if (stage_timer_ != nullptr) stage_timer_->stage(static_cast<int>(stage));
}

void CudaForwardPass::enqueue_step(int64_t n, int64_t wanted, int64_t table_stride) {
  const int64_t hidden = config_.hidden_size;
  mark(StepStage::embedding);
  embedding_.lookup(reinterpret_cast<const int32_t*>(static_cast<std::byte*>(step_tables_.data()) + ids_at_), n,
                    hidden_.as<float>(), stream_);
  streamer_->begin_step(stream_);
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    streamer_->before_layer(layer, stream_);
    layer_forward(layer, n, table_stride);
    streamer_->after_layer(layer, stream_);
  }
  if (wanted == 0) return;
  mark(StepStage::logits);
  // Gather the wanted rows (an "embedding lookup" into the hidden states).
  cuda::embedding_lookup(hidden_.data(), runtime::DType::f32, n, hidden,
                         reinterpret_cast<const int32_t*>(static_cast<std::byte*>(step_tables_.data()) + wanted_at_),
                         wanted, last_rows_.as<float>(), stream_);
  cuda::rms_norm(last_rows_.as<float>(), wanted, hidden, final_norm_.as<float>(),
                 static_cast<float>(config_.rms_norm_eps), last_rows_.as<float>(), stream_);
  lm_head_.forward(cublas_, last_rows_.as<float>(), wanted, logits_.as<float>(), stream_);
  cuda::argmax_rows(logits_.as<float>(), wanted, static_cast<int64_t>(lm_head_.out_features()),
                    argmax_.as<int32_t>(), stream_);
}

void CudaForwardPass::layer_forward(size_t layer_index, int64_t rows, int64_t table_stride) {
  const Layer& layer = layers_[layer_index];
  const int64_t hidden = config_.hidden_size, ffn = config_.intermediate_size;
  const int64_t heads = config_.num_heads, kv_heads = config_.num_kv_heads, head_dim = config_.head_dim;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  auto* tables_base = static_cast<std::byte*>(step_tables_.data());
  const auto* positions = reinterpret_cast<const int32_t*>(tables_base + positions_at_);
  using Epilogue = cuda::LinearEpilogue;

  // A fused projection after a norm: the norm inside the projection's
  // kernel when it can, else rms_norm into normed_ first.
  auto normed_projection = [&](const DeviceProjection& projection, const cuda::DeviceBuffer& norm,
                               const Epilogue& epilogue) {
    if (projection.forward_normed(hidden_.as<float>(), rows, norm.as<float>(), eps, epilogue, stream_)) return;
    cuda::rms_norm(hidden_.as<float>(), rows, hidden, norm.as<float>(), eps, normed_.as<float>(), stream_);
    projection.forward(cublas_, normed_.as<float>(), rows, epilogue, stream_);
  };

  // Attention block.
  mark(StepStage::qkv);
  if (layer.qkv) {
    Epilogue qkv;
    qkv.segments = 3;
    qkv.segment_begin[1] = heads * head_dim;
    qkv.segment_begin[2] = (heads + kv_heads) * head_dim;
    qkv.segment_begin[3] = (heads + 2 * kv_heads) * head_dim;
    qkv.out[0] = q_.as<float>();
    qkv.out[1] = k_.as<float>();
    qkv.out[2] = v_.as<float>();
    normed_projection(*layer.qkv, layer.input_norm, qkv);
  } else {
    cuda::rms_norm(hidden_.as<float>(), rows, hidden, layer.input_norm.as<float>(), eps, normed_.as<float>(), stream_);
    layer.q.forward(cublas_, normed_.as<float>(), rows, q_.as<float>(), stream_);
    layer.k.forward(cublas_, normed_.as<float>(), rows, k_.as<float>(), stream_);
    layer.v.forward(cublas_, normed_.as<float>(), rows, v_.as<float>(), stream_);
  }
  if (config_.qk_norm) {
    cuda::rms_norm(q_.as<float>(), rows * heads, head_dim, layer.q_norm.as<float>(), eps, q_.as<float>(), stream_);
    cuda::rms_norm(k_.as<float>(), rows * kv_heads, head_dim, layer.k_norm.as<float>(), eps, k_.as<float>(), stream_);
  }
  // RoPE on q and k and the K/V of every row into its slot, one kernel: a
  // view with one token per "block" whose addresses are the rows' slots, at
  // this layer's K/V offsets.
  const runtime::KvBlockView write_view = runtime::kv_slot_view_for_layer(
      reinterpret_cast<void* const*>(tables_base + slots_at_), rows, kTokensPerBlock,
      static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_.dtype);
  mark(StepStage::rope_kv_write);
  cuda::rope_kv_write(q_.as<float>(), k_.as<float>(), v_.as<float>(), rows, heads, positions, inv_freq_.as<float>(),
                      rotary_half_, write_view, stream_);

  // Attention: each row attends through its chunk's table up to its position.
  const runtime::KvBlockView layout = runtime::kv_block_view_for_layer(
      nullptr, 0, kTokensPerBlock, static_cast<int64_t>(layer_index), kv_heads, head_dim, kv_.dtype);
  mark(StepStage::attention);
  cuda::flash_decode(q_.as<float>(), rows, heads, layout, block_tables_.as<void* const>(),
                     table_stride, reinterpret_cast<const int32_t*>(tables_base + lengths_at_),
                     table_stride * kTokensPerBlock, attention_splits_, 1.0f / std::sqrt(static_cast<float>(head_dim)),
                     attention_scratch_.as<float>(), attn_.as<float>(), stream_);
  mark(StepStage::o);
  layer.o.forward(cublas_, attn_.as<float>(), rows, row_split_epilogue(), stream_);
  finish_row_split(rows);

  // MLP block.
  mark(StepStage::gate_up);
  if (layer.gate_up) {
    Epilogue silu = Epilogue::single(gate_.as<float>(), 2 * ffn);
    silu.kind = Epilogue::Kind::silu_mul;
    normed_projection(*layer.gate_up, layer.post_attention_norm, silu);
  } else {
    cuda::rms_norm(hidden_.as<float>(), rows, hidden, layer.post_attention_norm.as<float>(), eps, normed_.as<float>(),
                   stream_);
    layer.gate.forward(cublas_, normed_.as<float>(), rows, gate_.as<float>(), stream_);
    layer.up.forward(cublas_, normed_.as<float>(), rows, up_.as<float>(), stream_);
    cuda::silu_mul(gate_.as<float>(), up_.as<float>(), rows * ffn, gate_.as<float>(), stream_);
  }
  mark(StepStage::down);
  layer.down.forward(cublas_, gate_.as<float>(), rows, row_split_epilogue(), stream_);
  finish_row_split(rows);
}

cuda::LinearEpilogue CudaForwardPass::row_split_epilogue() const {
  // Rank 0 adds its partial sum to the residual stream, the other ranks
  // store theirs in their copy of it: the group's sum is then the residual
  // plus every rank's share, on every rank.
  const bool adds = tensor_parallel_.group == nullptr || tensor_parallel_.rank == 0;
  return cuda::LinearEpilogue::single(hidden_.as<float>(), config_.hidden_size,
                                      adds ? cuda::LinearEpilogue::Kind::add : cuda::LinearEpilogue::Kind::store);
}

void CudaForwardPass::finish_row_split(int64_t rows) const {
  if (tensor_parallel_.group == nullptr) return;
  tensor_parallel_.group->sum(tensor_parallel_.rank, hidden_.as<float>(),
                              static_cast<size_t>(rows * config_.hidden_size), stream_);
}

}  // namespace citadel::llm
