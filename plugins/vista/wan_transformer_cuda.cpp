// The Wan transformer chunk forward pass on CUDA (see wan_transformer_cuda.h).
#include "wan_transformer_cuda.h"

#include "wan_embeddings.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/flash_attention.h"
#include "runtime/cuda/flash_attention_f16.h"
#include "runtime/cuda/kv_gather_half.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/video_epilogues.h"
#include "runtime/cuda/video_kernels.h"
#include "runtime/kernels/attention.h"

#include <cmath>

namespace citadel::vista {
namespace {

using runtime::cuda::DeviceBuffer;

DeviceBuffer upload_floats(const std::vector<float>& values, const char* what) {
  return values.empty() ? DeviceBuffer() : DeviceBuffer::from_vector(values, what);
}

DeviceBuffer scratch(int64_t floats, const char* what) {
  return DeviceBuffer(static_cast<size_t>(std::max<int64_t>(floats, 1)) * sizeof(float), what);
}

// `buffer` with room for `bytes`, reallocated only to grow.
DeviceBuffer& grown(DeviceBuffer& buffer, size_t bytes, const char* what) {
  bytes = std::max<size_t>(bytes, 32);
  if (buffer.size() < bytes) {
    buffer = DeviceBuffer();  // free first
    buffer = DeviceBuffer(bytes, what);
  }
  return buffer;
}

DeviceBuffer& grown_floats(DeviceBuffer& buffer, int64_t floats, const char* what) {
  return grown(buffer, static_cast<size_t>(floats) * sizeof(float), what);
}

// `values` copied into `buffer` (grown), in order on `stream`.
template <typename T>
DeviceBuffer& uploaded(DeviceBuffer& buffer, const std::vector<T>& values, const char* what, void* stream) {
  grown(buffer, values.size() * sizeof(T), what);
  if (!values.empty()) buffer.upload(values.data(), values.size() * sizeof(T), 0, stream);
  return buffer;
}

// The f32-input paths: the WMMA kernel where the head size allows, else the
// f32 kernel (the tiny test models' head sizes).
void attention_f32(const float* q, int64_t queries, const float* k, const float* v, int64_t keys, int64_t heads,
               int64_t head_dim, float scale, float* out, void* stream) {
  if (runtime::cuda::flash_attention_supports(head_dim))
    runtime::cuda::flash_attention(q, queries, k, v, keys, heads, head_dim, scale, out, stream);
  else
    runtime::cuda::dense_attention(q, queries, k, v, keys, heads, head_dim, scale, out, stream);
}

}  // namespace

std::vector<std::string> pass_stage_names() {
  return {"host (conditioning, uploads, result)", "linears (cuBLAS f16, incl. f32->f16 of x)", "self-attention",
          "cross-attention", "norms, modulation, RoPE, residuals", "K/V gather/scatter, f16 conversion"};
}

DeviceChunkKv device_chunk_kv(const KvGeometry& geometry, void* const* block_table, int64_t tokens_per_frame,
                              const FrameWindow& window, int64_t first_frame, int64_t frames) {
  DeviceChunkKv kv;
  kv.block_table = block_table;
  kv.geometry = geometry;
  for (int64_t frame : window.history(first_frame, frames))
    for (int64_t t = 0; t < tokens_per_frame; ++t)
      kv.history_positions.push_back(static_cast<int32_t>(window.slot(frame) * tokens_per_frame + t));
  for (int64_t j = 0; j < frames; ++j)
    for (int64_t t = 0; t < tokens_per_frame; ++t)
      kv.chunk_positions.push_back(static_cast<int32_t>(window.slot(first_frame + j) * tokens_per_frame + t));
  return kv;
}

CudaWanTransformer::DeviceLinear CudaWanTransformer::upload(const Linear& linear) {
  DeviceLinear device;
  device.in = linear.in();
  device.out = linear.out();
  const runtime::Tensor half = linear.weight.to_f32().converted(runtime::DType::f16);
  device.weight = DeviceBuffer::from_host(half.data(), half.nbytes(), "vista f16 weight");
  device.bias = upload_floats(linear.bias, "vista bias");
  return device;
}

CudaWanTransformer::CudaWanTransformer(const WanTransformer& model, void* stream, CudaPassOptions options)
    : options_(options), model_(model), stream_(stream),
      rope_(runtime::make_rope_3d_table(model.config().head_dim, model.config().rope_max_seq_len)) {
  if (!model.config().cross_attn_norm)
    runtime::cuda::fail_unsupported("vista cuda: cross_attn_norm false (no cross-attention LayerNorm) is not supported");
  const WanWeights& weights = model.weights();
  patch_embedding_ = upload(weights.patch_embedding);
  text_1_ = upload(weights.text_linear_1);
  text_2_ = upload(weights.text_linear_2);
  proj_out_ = upload(weights.proj_out);
  for (const WanBlockWeights& block : weights.blocks) {
    DeviceBlock device;
    for (auto [source, target] : {std::pair{&block.self_attention, &device.self_attention},
                                  std::pair{&block.cross_attention, &device.cross_attention}}) {
      target->q = upload(source->to_q);
      target->k = upload(source->to_k);
      target->v = upload(source->to_v);
      target->o = upload(source->to_out);
      target->norm_q = upload_floats(source->norm_q, "vista norm_q");
      target->norm_k = upload_floats(source->norm_k, "vista norm_k");
    }
    device.cross_norm_weight = upload_floats(block.cross_norm_weight, "vista norm2");
    device.cross_norm_bias = upload_floats(block.cross_norm_bias, "vista norm2");
    device.ffn_in = upload(block.ffn_in);
    device.ffn_out = upload(block.ffn_out);
    blocks_.push_back(std::move(device));
  }
  rope_cos_ = DeviceBuffer::from_vector(rope_.cos, "vista rope");
  rope_sin_ = DeviceBuffer::from_vector(rope_.sin, "vista rope");
}

uint64_t CudaWanTransformer::weight_bytes() const {
  uint64_t bytes = rope_cos_.size() + rope_sin_.size();
  auto linear = [&](const DeviceLinear& layer) { bytes += layer.weight.size() + layer.bias.size(); };
  for (const DeviceLinear* layer : {&patch_embedding_, &text_1_, &text_2_, &proj_out_}) linear(*layer);
  for (const DeviceBlock& block : blocks_) {
    for (const DeviceAttention* attention : {&block.self_attention, &block.cross_attention}) {
      for (const DeviceLinear* layer : {&attention->q, &attention->k, &attention->v, &attention->o}) linear(*layer);
      bytes += attention->norm_q.size() + attention->norm_k.size();
    }
    bytes += block.cross_norm_weight.size() + block.cross_norm_bias.size();
    linear(block.ffn_in);
    linear(block.ffn_out);
  }
  return bytes;
}

void CudaWanTransformer::linear(const DeviceLinear& layer, const float* x, int64_t rows, float* y) {
  runtime::cuda::matmul_f16(cublas_, x, rows, layer.in, layer.weight.as<uint16_t>(), runtime::cuda::WeightLayout::out_in,
                            layer.out, y, layer.bias.data() != nullptr ? layer.bias.as<float>() : nullptr, stream_);
}

void CudaWanTransformer::linear_no_bias(const DeviceLinear& layer, const uint16_t* x, int64_t rows, float* y) {
  runtime::cuda::matmul_f16_input(cublas_, x, rows, layer.in, layer.weight.as<uint16_t>(),
                                  runtime::cuda::WeightLayout::out_in, layer.out, y, nullptr, stream_);
}

const float* CudaWanTransformer::bias_of(const DeviceLinear& layer) {
  return layer.bias.data() != nullptr ? layer.bias.as<float>() : nullptr;
}

void CudaWanTransformer::mark(PassStage stage) {
  if (options_.stages != nullptr) options_.stages->stage(static_cast<int>(stage));
}

bool CudaWanTransformer::use_f16_attention(int64_t head_dim) const {
  return options_.attention != CudaAttentionKernel::f32_wmma && runtime::cuda::flash_attention_f16_supports(head_dim);
}

CudaWanTransformer::Text CudaWanTransformer::prepare_text(runtime::ThreadPool&, const float* text_embeds,
                                                          int64_t tokens) {
  const WanConfig& config = model_.config();
  const int64_t dim = config.dim();
  DeviceBuffer input = DeviceBuffer::from_host(text_embeds, static_cast<size_t>(tokens * config.text_dim) * sizeof(float));
  DeviceBuffer hidden = scratch(tokens * dim, "vista text"), text = scratch(tokens * dim, "vista text");
  linear(text_1_, input.as<float>(), tokens, hidden.as<float>());
  runtime::cuda::gelu_tanh(hidden.as<float>(), tokens * dim, hidden.as<float>(), stream_);
  linear(text_2_, hidden.as<float>(), tokens, text.as<float>());
  Text result;
  result.tokens = tokens;
  for (const DeviceBlock& block : blocks_) {
    DeviceBuffer k = scratch(tokens * dim, "vista cross K"), v = scratch(tokens * dim, "vista cross V");
    linear(block.cross_attention.k, text.as<float>(), tokens, k.as<float>());
    runtime::cuda::rms_norm(k.as<float>(), tokens, dim, block.cross_attention.norm_k.as<float>(),
                            static_cast<float>(config.eps), k.as<float>(), stream_);
    linear(block.cross_attention.v, text.as<float>(), tokens, v.as<float>());
    if (use_f16_attention(config.head_dim)) {
      DeviceBuffer k16(static_cast<size_t>(tokens * dim) * 2, "vista cross K f16");
      DeviceBuffer v16(static_cast<size_t>(tokens * dim) * 2, "vista cross V f16");
      runtime::cuda::float_to_half(k.as<float>(), k16.as<uint16_t>(), tokens * dim, stream_);
      runtime::cuda::float_to_half(v.as<float>(), v16.as<uint16_t>(), tokens * dim, stream_);
      result.keys_f16.push_back(std::move(k16));
      result.values_f16.push_back(std::move(v16));
    }
    result.keys.push_back(std::move(k));
    result.values.push_back(std::move(v));
  }
  runtime::cuda::synchronize(stream_);
  return result;
}

std::vector<float> CudaWanTransformer::forward(runtime::ThreadPool& pool, const float* latents, const ChunkShape& shape,
                                               const float* frame_timesteps, int64_t first_frame, const Text& text,
                                               const DeviceChunkKv& kv, bool commit) {
  namespace cu = runtime::cuda;
  const WanConfig& config = model_.config();
  const int64_t dim = config.dim(), heads = config.num_heads, head_dim = config.head_dim, p = config.patch[1];
  const int64_t frames = shape.frames, rows = shape.height / p, columns = shape.width / p;
  const int64_t per_frame = rows * columns, n = frames * per_frame;
  const int64_t history = static_cast<int64_t>(kv.history_positions.size());
  const float eps = static_cast<float>(config.eps), scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const bool f16_attention = use_f16_attention(head_dim);
  if (f16_attention && text.keys_f16.size() != text.keys.size())
    cu::fail_invalid("vista cuda: the prepared text has no f16 K/V (prepared by another attention setting)");
  mark(PassStage::host);

  const std::vector<float> tokens = patchify(latents, config.in_channels, frames, shape.height, shape.width, p);
  const WanTransformer::FrameConditioning conditioning = model_.condition(pool, frame_timesteps, frames);
  std::vector<int32_t> frame_of(static_cast<size_t>(n)), row_of(frame_of.size()), column_of(frame_of.size());
  for (int64_t t = 0; t < n; ++t) {
    frame_of[static_cast<size_t>(t)] = static_cast<int32_t>(first_frame + t / per_frame);
    row_of[static_cast<size_t>(t)] = static_cast<int32_t>((t / columns) % rows);
    column_of[static_cast<size_t>(t)] = static_cast<int32_t>(t % columns);
    if (frame_of[static_cast<size_t>(t)] >= rope_.max_positions || rows > rope_.max_positions ||
        columns > rope_.max_positions)
      cu::fail_invalid("vista cuda: chunk positions exceed the RoPE table");
  }
  // The pass's buffers are kept between passes (pass_), so that a pass
  // allocates nothing (cudaFree would wait for the whole device) once the
  // largest chunk has run.
  PassBuffers& b = pass_;
  const DeviceBuffer& frames_d = uploaded(b.frames, frame_of, "vista frames", stream_);
  const DeviceBuffer& rows_d = uploaded(b.rows, row_of, "vista rows", stream_);
  const DeviceBuffer& columns_d = uploaded(b.columns, column_of, "vista columns", stream_);
  const DeviceBuffer& history_d = uploaded(b.history, kv.history_positions, "vista history", stream_);
  const DeviceBuffer& chunk_d = uploaded(b.chunk, kv.chunk_positions, "vista chunk positions", stream_);
  const DeviceBuffer& input = uploaded(b.input, tokens, "vista patches", stream_);
  DeviceBuffer& x = grown_floats(b.x, n * dim, "vista x");
  const bool fused = options_.fused_epilogues;
  // The norms' f32 output (separate epilogues) or f16 output (fused).
  DeviceBuffer& normed = grown_floats(b.normed, fused ? 0 : n * dim, "vista normed");
  DeviceBuffer& delta = grown_floats(b.delta, n * dim, "vista delta");
  DeviceBuffer& q = grown_floats(b.q, n * dim, "vista q");
  DeviceBuffer& mixed = grown_floats(b.mixed, n * dim, "vista mixed");
  DeviceBuffer& keys = grown_floats(b.keys, (history + n) * dim, "vista keys");
  DeviceBuffer& values = grown_floats(b.values, (history + n) * dim, "vista values");
  DeviceBuffer& hidden = grown_floats(b.hidden, n * config.ffn_dim, "vista ffn");
  // Every block's modulation (scale_shift_table + the frames' conditioning),
  // then the output head's: computed here and uploaded in one copy while
  // the device is idle, rather than one synchronous upload a layer.
  const int64_t layer_modulation = frames * 6 * dim;
  const int64_t head_at = config.num_layers * layer_modulation;
  std::vector<float> host_modulation(static_cast<size_t>(head_at + frames * 2 * dim));
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const float* table = model_.weights().blocks[static_cast<size_t>(layer)].modulation.data();
    const float* projection = conditioning.projection.data();
    float* into = host_modulation.data() + layer * layer_modulation;
    for (int64_t f = 0; f < frames; ++f)
      for (int64_t i = 0; i < 6 * dim; ++i) into[f * 6 * dim + i] = table[i] + projection[f * 6 * dim + i];
  }
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < dim; ++i)
        host_modulation[static_cast<size_t>(head_at + (f * 2 + j) * dim + i)] =
            model_.weights().output_modulation[static_cast<size_t>(j * dim + i)] +
            conditioning.time_embedding[static_cast<size_t>(f * dim + i)];
  const DeviceBuffer& modulation = uploaded(b.modulation, host_modulation, "vista modulation", stream_);
  DeviceBuffer& normed16 = grown(b.normed16, static_cast<size_t>(fused ? n * dim : 0) * 2, "vista normed f16");
  DeviceBuffer& hidden16 = grown(b.hidden16, static_cast<size_t>(fused ? n * config.ffn_dim : 0) * 2, "vista ffn f16");
  float* own_k = keys.as<float>() + history * dim;
  float* own_v = values.as<float>() + history * dim;
  // f16 operands of the attention (empty on the f32 path).
  const int64_t half_q = f16_attention ? n * dim : 0, half_kv = f16_attention ? (history + n) * dim : 0;
  DeviceBuffer& q16 = grown(b.q16, static_cast<size_t>(half_q) * 2, "vista q f16");
  DeviceBuffer& k16 = grown(b.k16, static_cast<size_t>(half_kv) * 2, "vista k f16");
  DeviceBuffer& v16 = grown(b.v16, static_cast<size_t>(half_kv) * 2, "vista v f16");
  const auto attend = [&](const float* q_rows, const float* k_rows, const float* v_rows, const uint16_t* k_half,
                          const uint16_t* v_half, int64_t count, PassStage stage) {
    if (f16_attention) {
      mark(PassStage::kv_and_convert);
      cu::float_to_half(q_rows, q16.as<uint16_t>(), n * dim, stream_);
      mark(stage);
      cu::flash_attention_f16(q16.as<uint16_t>(), n, k_half, v_half, count, heads, head_dim, scale, mixed.as<float>(),
                              stream_,
                              options_.attention == CudaAttentionKernel::f16_mma ? cu::FlashF16Path::mma_sync
                                                                                 : cu::FlashF16Path::automatic);
    } else {
      mark(stage);
      attention_f32(q_rows, n, k_rows, v_rows, count, heads, head_dim, scale, mixed.as<float>(), stream_);
    }
  };
  mark(PassStage::linears);
  linear(patch_embedding_, input.as<float>(), n, x.as<float>());

  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const DeviceBlock& block = blocks_[static_cast<size_t>(layer)];
    const float* m = modulation.as<float>() + layer * layer_modulation;
    const int64_t stride = 6 * dim;
    // Self-attention over the history and the chunk.
    mark(PassStage::norms);
    const DeviceAttention& self = block.self_attention;
    if (fused) {  // the norm writes the GEMMs' f16 input; q and k's biases go into their RMS norms
      cu::layer_norm_modulate_half(x.as<float>(), n, dim, nullptr, nullptr, m, m + dim, stride, per_frame, eps,
                                   normed16.as<uint16_t>(), stream_);
      mark(PassStage::linears);
      linear_no_bias(self.q, normed16.as<uint16_t>(), n, q.as<float>());
      linear_no_bias(self.k, normed16.as<uint16_t>(), n, own_k);
      cu::matmul_f16_input(cublas_, normed16.as<uint16_t>(), n, self.v.in, self.v.weight.as<uint16_t>(),
                           cu::WeightLayout::out_in, self.v.out, own_v, bias_of(self.v), stream_);
      mark(PassStage::norms);
      cu::bias_rms_norm(q.as<float>(), bias_of(self.q), n, dim, self.norm_q.as<float>(), eps, q.as<float>(), stream_);
      cu::bias_rms_norm(own_k, bias_of(self.k), n, dim, self.norm_k.as<float>(), eps, own_k, stream_);
    } else {
      cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, m, m + dim, stride, per_frame, eps,
                              normed.as<float>(), stream_);
      mark(PassStage::linears);
      linear(self.q, normed.as<float>(), n, q.as<float>());
      linear(self.k, normed.as<float>(), n, own_k);
      linear(self.v, normed.as<float>(), n, own_v);
      mark(PassStage::norms);
      cu::rms_norm(q.as<float>(), n, dim, self.norm_q.as<float>(), eps, q.as<float>(), stream_);
      cu::rms_norm(own_k, n, dim, self.norm_k.as<float>(), eps, own_k, stream_);
    }
    for (float* target : {q.as<float>(), own_k})
      cu::apply_rope_3d(target, n, heads, head_dim, rope_cos_.as<float>(), rope_sin_.as<float>(), rope_.max_positions,
                        rope_.part[0], rope_.part[1], frames_d.as<int32_t>(), rows_d.as<int32_t>(),
                        columns_d.as<int32_t>(), stream_);
    const runtime::KvBlockView view = runtime::kv_block_view_for_layer(
        nullptr, 0, kv.geometry.tokens_per_block, layer, heads, head_dim, kv.geometry.dtype);
    const cu::KvBlocksDevice blocks{kv.block_table, kv.geometry.tokens_per_block, heads, head_dim, kv.geometry.dtype,
                                    view.k_offset, view.v_offset};
    mark(PassStage::kv_and_convert);
    if (f16_attention) {  // the history straight from the blocks into f16, the chunk's own rows converted
      if (history > 0) cu::kv_gather_half(blocks, history_d.as<int32_t>(), history, k16.as<uint16_t>(), v16.as<uint16_t>(), stream_);
      cu::float_to_half(own_k, k16.as<uint16_t>() + history * dim, n * dim, stream_);
      cu::float_to_half(own_v, v16.as<uint16_t>() + history * dim, n * dim, stream_);
    } else if (history > 0) {
      cu::kv_gather(blocks, history_d.as<int32_t>(), history, keys.as<float>(), values.as<float>(), stream_);
    }
    if (commit) cu::kv_scatter(blocks, chunk_d.as<int32_t>(), n, own_k, own_v, stream_);
    attend(q.as<float>(), keys.as<float>(), values.as<float>(), k16.as<uint16_t>(), v16.as<uint16_t>(), history + n,
           PassStage::self_attention);
    mark(PassStage::linears);
    if (fused) {
      cu::matmul_f16(cublas_, mixed.as<float>(), n, self.o.in, self.o.weight.as<uint16_t>(), cu::WeightLayout::out_in,
                     self.o.out, delta.as<float>(), nullptr, stream_);
      mark(PassStage::norms);
      cu::gated_add_bias(x.as<float>(), delta.as<float>(), bias_of(self.o), n, dim, m + 2 * dim, stride, per_frame,
                         stream_);
    } else {
      linear(self.o, mixed.as<float>(), n, delta.as<float>());
      mark(PassStage::norms);
      cu::gated_add(x.as<float>(), delta.as<float>(), n, dim, m + 2 * dim, stride, per_frame, stream_);
    }
    // Cross-attention to the prompt.
    const DeviceAttention& cross = block.cross_attention;
    if (fused) {
      cu::layer_norm_modulate_half(x.as<float>(), n, dim, block.cross_norm_weight.as<float>(),
                                   block.cross_norm_bias.as<float>(), nullptr, nullptr, 0, per_frame, eps,
                                   normed16.as<uint16_t>(), stream_);
      mark(PassStage::linears);
      linear_no_bias(cross.q, normed16.as<uint16_t>(), n, q.as<float>());
      mark(PassStage::norms);
      cu::bias_rms_norm(q.as<float>(), bias_of(cross.q), n, dim, cross.norm_q.as<float>(), eps, q.as<float>(),
                        stream_);
    } else {
      cu::layer_norm_modulate(x.as<float>(), n, dim, block.cross_norm_weight.as<float>(),
                              block.cross_norm_bias.as<float>(), nullptr, nullptr, 0, per_frame, eps,
                              normed.as<float>(), stream_);
      mark(PassStage::linears);
      linear(cross.q, normed.as<float>(), n, q.as<float>());
      mark(PassStage::norms);
      cu::rms_norm(q.as<float>(), n, dim, cross.norm_q.as<float>(), eps, q.as<float>(), stream_);
    }
    const size_t l = static_cast<size_t>(layer);
    attend(q.as<float>(), text.keys[l].as<float>(), text.values[l].as<float>(),
           f16_attention ? text.keys_f16[l].as<uint16_t>() : nullptr,
           f16_attention ? text.values_f16[l].as<uint16_t>() : nullptr, text.tokens, PassStage::cross_attention);
    mark(PassStage::linears);
    if (fused) {
      cu::matmul_f16(cublas_, mixed.as<float>(), n, cross.o.in, cross.o.weight.as<uint16_t>(),
                     cu::WeightLayout::out_in, cross.o.out, delta.as<float>(), nullptr, stream_);
      mark(PassStage::norms);
      cu::add_bias_residual(x.as<float>(), delta.as<float>(), bias_of(cross.o), n, dim, stream_);
    } else {
      linear(cross.o, mixed.as<float>(), n, delta.as<float>());
      mark(PassStage::norms);
      cu::add_in_place(x.as<float>(), delta.as<float>(), n * dim, stream_);
    }
    // Feed-forward.
    if (fused) {  // GELU with ffn_in's bias writes ffn_out's f16 input; ffn_out's bias goes into the gated add
      cu::layer_norm_modulate_half(x.as<float>(), n, dim, nullptr, nullptr, m + 3 * dim, m + 4 * dim, stride,
                                   per_frame, eps, normed16.as<uint16_t>(), stream_);
      mark(PassStage::linears);
      linear_no_bias(block.ffn_in, normed16.as<uint16_t>(), n, hidden.as<float>());
      mark(PassStage::norms);
      cu::bias_gelu_to_half(hidden.as<float>(), bias_of(block.ffn_in), n, config.ffn_dim, hidden16.as<uint16_t>(),
                            stream_);
      mark(PassStage::linears);
      linear_no_bias(block.ffn_out, hidden16.as<uint16_t>(), n, delta.as<float>());
      mark(PassStage::norms);
      cu::gated_add_bias(x.as<float>(), delta.as<float>(), bias_of(block.ffn_out), n, dim, m + 5 * dim, stride,
                         per_frame, stream_);
    } else {
      cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, m + 3 * dim, m + 4 * dim, stride, per_frame,
                              eps, normed.as<float>(), stream_);
      mark(PassStage::linears);
      linear(block.ffn_in, normed.as<float>(), n, hidden.as<float>());
      mark(PassStage::norms);
      cu::gelu_tanh(hidden.as<float>(), n * config.ffn_dim, hidden.as<float>(), stream_);
      mark(PassStage::linears);
      linear(block.ffn_out, hidden.as<float>(), n, delta.as<float>());
      mark(PassStage::norms);
      cu::gated_add(x.as<float>(), delta.as<float>(), n, dim, m + 5 * dim, stride, per_frame, stream_);
    }
  }
  mark(PassStage::norms);
  const float* head = modulation.as<float>() + head_at;
  DeviceBuffer& rows_out = grown_floats(b.out, n * proj_out_.out, "vista out");
  if (fused) {
    cu::layer_norm_modulate_half(x.as<float>(), n, dim, nullptr, nullptr, head, head + dim, 2 * dim, per_frame, eps,
                                 normed16.as<uint16_t>(), stream_);
    mark(PassStage::linears);
    cu::matmul_f16_input(cublas_, normed16.as<uint16_t>(), n, proj_out_.in, proj_out_.weight.as<uint16_t>(),
                         cu::WeightLayout::out_in, proj_out_.out, rows_out.as<float>(), bias_of(proj_out_), stream_);
  } else {
    cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, head, head + dim, 2 * dim, per_frame, eps,
                            normed.as<float>(), stream_);
    mark(PassStage::linears);
    linear(proj_out_, normed.as<float>(), n, rows_out.as<float>());
  }
  mark(PassStage::host);
  const std::vector<float> host_rows = rows_out.to_vector<float>(static_cast<size_t>(n * proj_out_.out), stream_);
  if (options_.stages != nullptr) options_.stages->end_pass();
  return unpatchify(host_rows.data(), config.out_channels, frames, shape.height, shape.width, p);
}

}  // namespace citadel::vista
