// The Wan transformer chunk forward pass on CUDA (see wan_transformer_cuda.h).
#include "wan_transformer_cuda.h"

#include "wan_embeddings.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/flash_attention.h"
#include "runtime/cuda/layer_kernels.h"
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

// Attention on tensor cores where the head size allows (Wan2.1's 128), else
// the f32 kernel (the tiny test models' head sizes).
void attention(const float* q, int64_t queries, const float* k, const float* v, int64_t keys, int64_t heads,
               int64_t head_dim, float scale, float* out, void* stream) {
  if (runtime::cuda::flash_attention_supports(head_dim))
    runtime::cuda::flash_attention(q, queries, k, v, keys, heads, head_dim, scale, out, stream);
  else
    runtime::cuda::dense_attention(q, queries, k, v, keys, heads, head_dim, scale, out, stream);
}

}  // namespace

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

CudaWanTransformer::CudaWanTransformer(const WanTransformer& model, void* stream)
    : model_(model), stream_(stream),
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

void CudaWanTransformer::linear(const DeviceLinear& layer, const float* x, int64_t rows, float* y) {
  runtime::cuda::matmul_f16(cublas_, x, rows, layer.in, layer.weight.as<uint16_t>(), runtime::cuda::WeightLayout::out_in,
                            layer.out, y, layer.bias.data() != nullptr ? layer.bias.as<float>() : nullptr, stream_);
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
  DeviceBuffer frames_d = DeviceBuffer::from_vector(frame_of), rows_d = DeviceBuffer::from_vector(row_of);
  DeviceBuffer columns_d = DeviceBuffer::from_vector(column_of);
  DeviceBuffer history_d = history > 0 ? DeviceBuffer::from_vector(kv.history_positions) : DeviceBuffer();
  DeviceBuffer chunk_d = DeviceBuffer::from_vector(kv.chunk_positions);
  DeviceBuffer input = DeviceBuffer::from_vector(tokens, "vista patches");
  DeviceBuffer x = scratch(n * dim, "vista x"), normed = scratch(n * dim, "vista normed");
  DeviceBuffer delta = scratch(n * dim, "vista delta"), q = scratch(n * dim, "vista q"), mixed = scratch(n * dim, "vista mixed");
  DeviceBuffer keys = scratch((history + n) * dim, "vista keys"), values = scratch((history + n) * dim, "vista values");
  DeviceBuffer hidden = scratch(n * config.ffn_dim, "vista ffn"), modulation = scratch(frames * 6 * dim, "vista mod");
  float* own_k = keys.as<float>() + history * dim;
  float* own_v = values.as<float>() + history * dim;
  linear(patch_embedding_, input.as<float>(), n, x.as<float>());

  std::vector<float> host_modulation(static_cast<size_t>(frames * 6 * dim));
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    const WanBlockWeights& weights = model_.weights().blocks[static_cast<size_t>(layer)];
    const DeviceBlock& block = blocks_[static_cast<size_t>(layer)];
    for (int64_t f = 0; f < frames; ++f)
      for (int64_t i = 0; i < 6 * dim; ++i)
        host_modulation[static_cast<size_t>(f * 6 * dim + i)] =
            weights.modulation[static_cast<size_t>(i)] + conditioning.projection[static_cast<size_t>(f * 6 * dim + i)];
    modulation.upload(host_modulation.data(), host_modulation.size() * sizeof(float), 0, stream_);
    const float* m = modulation.as<float>();
    const int64_t stride = 6 * dim;
    cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, m, m + dim, stride, per_frame, eps,
                            normed.as<float>(), stream_);
    // Self-attention over the history and the chunk.
    const DeviceAttention& self = block.self_attention;
    linear(self.q, normed.as<float>(), n, q.as<float>());
    cu::rms_norm(q.as<float>(), n, dim, self.norm_q.as<float>(), eps, q.as<float>(), stream_);
    linear(self.k, normed.as<float>(), n, own_k);
    cu::rms_norm(own_k, n, dim, self.norm_k.as<float>(), eps, own_k, stream_);
    linear(self.v, normed.as<float>(), n, own_v);
    for (float* target : {q.as<float>(), own_k})
      cu::apply_rope_3d(target, n, heads, head_dim, rope_cos_.as<float>(), rope_sin_.as<float>(), rope_.max_positions,
                        rope_.part[0], rope_.part[1], frames_d.as<int32_t>(), rows_d.as<int32_t>(),
                        columns_d.as<int32_t>(), stream_);
    const runtime::KvBlockView view = runtime::kv_block_view_for_layer(
        nullptr, 0, kv.geometry.tokens_per_block, layer, heads, head_dim, kv.geometry.dtype);
    const cu::KvBlocksDevice blocks{kv.block_table, kv.geometry.tokens_per_block, heads, head_dim, kv.geometry.dtype,
                                    view.k_offset, view.v_offset};
    if (history > 0) cu::kv_gather(blocks, history_d.as<int32_t>(), history, keys.as<float>(), values.as<float>(), stream_);
    if (commit) cu::kv_scatter(blocks, chunk_d.as<int32_t>(), n, own_k, own_v, stream_);
    attention(q.as<float>(), n, keys.as<float>(), values.as<float>(), history + n, heads, head_dim, scale,
              mixed.as<float>(), stream_);
    linear(self.o, mixed.as<float>(), n, delta.as<float>());
    cu::gated_add(x.as<float>(), delta.as<float>(), n, dim, m + 2 * dim, stride, per_frame, stream_);
    // Cross-attention to the prompt.
    const DeviceAttention& cross = block.cross_attention;
    cu::layer_norm_modulate(x.as<float>(), n, dim, block.cross_norm_weight.as<float>(),
                            block.cross_norm_bias.as<float>(), nullptr, nullptr, 0, per_frame, eps, normed.as<float>(),
                            stream_);
    linear(cross.q, normed.as<float>(), n, q.as<float>());
    cu::rms_norm(q.as<float>(), n, dim, cross.norm_q.as<float>(), eps, q.as<float>(), stream_);
    attention(q.as<float>(), n, text.keys[static_cast<size_t>(layer)].as<float>(),
              text.values[static_cast<size_t>(layer)].as<float>(), text.tokens, heads, head_dim, scale,
              mixed.as<float>(), stream_);
    linear(cross.o, mixed.as<float>(), n, delta.as<float>());
    cu::add_in_place(x.as<float>(), delta.as<float>(), n * dim, stream_);
    // Feed-forward.
    cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, m + 3 * dim, m + 4 * dim, stride, per_frame, eps,
                            normed.as<float>(), stream_);
    linear(block.ffn_in, normed.as<float>(), n, hidden.as<float>());
    cu::gelu_tanh(hidden.as<float>(), n * config.ffn_dim, hidden.as<float>(), stream_);
    linear(block.ffn_out, hidden.as<float>(), n, delta.as<float>());
    cu::gated_add(x.as<float>(), delta.as<float>(), n, dim, m + 5 * dim, stride, per_frame, stream_);
  }
  std::vector<float> head(static_cast<size_t>(frames * 2 * dim));
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < dim; ++i)
        head[static_cast<size_t>((f * 2 + j) * dim + i)] =
            model_.weights().output_modulation[static_cast<size_t>(j * dim + i)] +
            conditioning.time_embedding[static_cast<size_t>(f * dim + i)];
  modulation.upload(head.data(), head.size() * sizeof(float), 0, stream_);
  cu::layer_norm_modulate(x.as<float>(), n, dim, nullptr, nullptr, modulation.as<float>(),
                          modulation.as<float>() + dim, 2 * dim, per_frame, eps, normed.as<float>(), stream_);
  DeviceBuffer rows_out = scratch(n * proj_out_.out, "vista out");
  linear(proj_out_, normed.as<float>(), n, rows_out.as<float>());
  const std::vector<float> host_rows = rows_out.to_vector<float>(static_cast<size_t>(n * proj_out_.out), stream_);
  return unpatchify(host_rows.data(), config.out_channels, frames, shape.height, shape.width, p);
}

}  // namespace citadel::vista
