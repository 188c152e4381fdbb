// The CUDA decoder pass (CUDA builds only; the class in cuda_decoder.h):
// weights uploaded once as f16, every linear through cuBLAS (fp32
// accumulation), RMSNorm / RoPE kernels of sdk/runtime/cuda, RoPE and the K/V
// write of all rows in one launch, then one attention launch for all rows of
// the step (each row a query with its chunk's block table and its own length:
// flash decoding for the f16 cache, paged_attention_decode otherwise). Input
// rows (token embeddings with the encoder's rows in place of the
// placeholders) are made on the host as the CPU pass makes them and
// uploaded. q, k and v are one strided-batched GEMM when they have one width.
// The feed-forward half of each layer is cuda_decoder_feed_forward.cpp.
// Decode steps whose routed layers all route on the device read everything
// that changes from device tables, so they are replayed as CUDA graphs
// (runtime/cuda/step_graphs.h), one per row count and table stride.
#include "cuda_decoder.h"

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

namespace cuda = runtime::cuda;

CudaDecoder::CudaDecoder(const DecoderConfig& config, const DecoderWeights& weights, runtime::DType kv_dtype, void* stream,
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

std::unique_ptr<DecoderBackend> make_cuda_decoder(const DecoderConfig& config, const DecoderWeights& weights,
                                                  runtime::DType kv_dtype, int ordinal, void* stream,
                                                  const CudaDecoderOptions& options) {
  if (ordinal >= 0) cuda::check_cuda(cudaSetDevice(ordinal), "cudaSetDevice");
  return std::make_unique<CudaDecoder>(config, weights, kv_dtype, stream, options);
}

}  // namespace citadel::deepseek_ocr
