// The UMT5 encoder on CUDA (see umt5_encoder_cuda.h).
#include "umt5_encoder_cuda.h"

#include "runtime/core/error.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/t5_kernels.h"
#include "runtime/kernels/elementwise.h"

#include <algorithm>
#include <initializer_list>
#include <memory>

namespace citadel::vista {
namespace {

using runtime::cuda::DeviceBuffer;

// The scores of at most this many floats are held at once (256 MB): all 64
// heads of UMT5-XXL at 512 tokens (16.8 M floats) fit in one batch.
constexpr int64_t kScoresBudgetFloats = int64_t{64} << 20;

// The rows of `parts` stacked into one bf16 [Σ out, in] device matrix.
DeviceBuffer upload_bf16_rows(std::initializer_list<const Linear*> parts, const char* what) {
  size_t total = 0;
  for (const Linear* part : parts) total += static_cast<size_t>(part->weight.numel()) * 2;
  DeviceBuffer buffer(total, what);
  size_t offset = 0;
  for (const Linear* part : parts) {
    if (!part->bias.empty()) runtime::throw_unsupported(std::string("umt5 cuda: ") + what + " has a bias");
    if (part->weight.dtype() == runtime::DType::bf16) {
      buffer.upload(part->weight.data(), part->weight.nbytes(), offset);
    } else {
      const runtime::Tensor rounded = part->weight.to_f32().converted(runtime::DType::bf16);
      buffer.upload(rounded.data(), rounded.nbytes(), offset);
    }
    offset += static_cast<size_t>(part->weight.numel()) * 2;
  }
  return buffer;
}

DeviceBuffer upload_floats(const std::vector<float>& values, const char* what) {
  return DeviceBuffer::from_vector(values, what);
}

void check_bytes(const DeviceBuffer& buffer, int64_t elements, size_t element_bytes, const std::string& what) {
  if (buffer.size() != static_cast<size_t>(elements) * element_bytes)
    runtime::throw_invalid("umt5 cuda: " + what + " holds " + std::to_string(buffer.size()) + " bytes, expected " +
                           std::to_string(elements) + " x " + std::to_string(element_bytes));
}

class CudaTextEncoder final : public TextEncoder {
 public:
  CudaTextEncoder(const Umt5Encoder& encoder, void* stream) : encoder_(encoder, stream) {}
  const Umt5Config& config() const override { return encoder_.config(); }
  std::vector<float> encode(std::span<const int32_t> ids, int64_t valid) override {
    return encoder_.encode(ids, valid);
  }
  uint64_t device_weight_bytes() const override { return encoder_.weight_bytes(); }

 private:
  CudaUmt5Encoder encoder_;
};

}  // namespace

std::vector<std::string> umt5_stage_names() {
  return {"host (embedding rows, upload, result)", "linears (cuBLAS bf16, incl. bf16 conversion, gated GELU)",
          "attention (f32 cuBLAS, bias + softmax)", "RMSNorms"};
}

CudaUmt5Encoder::DeviceWeights CudaUmt5Encoder::upload(const Umt5Encoder& encoder) {
  DeviceWeights weights;
  for (const Umt5Encoder::Layer& layer : encoder.layers()) {
    DeviceLayer device;
    device.attention_norm = upload_floats(layer.attention_norm, "umt5 attention norm");
    device.ffn_norm = upload_floats(layer.ffn_norm, "umt5 ffn norm");
    device.qkv = upload_bf16_rows({&layer.q, &layer.k, &layer.v}, "umt5 q|k|v");
    device.o = upload_bf16_rows({&layer.o}, "umt5 o");
    device.wi = upload_bf16_rows({&layer.wi_0, &layer.wi_1}, "umt5 wi_0|wi_1");
    device.wo = upload_bf16_rows({&layer.wo}, "umt5 wo");
    device.relative_bias = upload_floats(layer.relative_bias, "umt5 relative bias");
    weights.layers.push_back(std::move(device));
  }
  weights.final_norm = upload_floats(encoder.final_norm(), "umt5 final norm");
  return weights;
}

CudaUmt5Encoder::CudaUmt5Encoder(const Umt5Config& config, runtime::Tensor embedding, DeviceWeights weights,
                                 void* stream, CudaUmt5Options options)
    : config_(config), options_(options), embedding_(std::move(embedding)), weights_(std::move(weights)),
      stream_(stream) {
  check_weights();
}

CudaUmt5Encoder::CudaUmt5Encoder(const Umt5Encoder& encoder, void* stream, CudaUmt5Options options)
    : CudaUmt5Encoder(encoder.config(), encoder.embedding(), upload(encoder), stream, options) {}

void CudaUmt5Encoder::check_weights() const {
  const int64_t d = config_.d_model, inner = config_.num_heads * config_.d_kv, ff = config_.d_ff;
  if (d <= 0 || inner <= 0 || ff <= 0 || config_.relative_attention_num_buckets <= 0)
    runtime::throw_invalid("umt5 cuda: config with a zero size (d_model " + std::to_string(d) + ", heads x d_kv " +
                           std::to_string(inner) + ", d_ff " + std::to_string(ff) + ")");
  if (embedding_.shape() != runtime::Shape{config_.vocab_size, d})
    runtime::throw_invalid("umt5 cuda: embedding table " + embedding_.description() + ", expected [" +
                           std::to_string(config_.vocab_size) + ", " + std::to_string(d) + "]");
  if (static_cast<int64_t>(weights_.layers.size()) != config_.num_layers)
    runtime::throw_invalid("umt5 cuda: " + std::to_string(weights_.layers.size()) + " layers, the config has " +
                           std::to_string(config_.num_layers));
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const DeviceLayer& layer = weights_.layers[i];
    const std::string at = "layer " + std::to_string(i) + " ";
    check_bytes(layer.attention_norm, d, 4, at + "attention norm");
    check_bytes(layer.ffn_norm, d, 4, at + "ffn norm");
    check_bytes(layer.qkv, 3 * inner * d, 2, at + "q|k|v");
    check_bytes(layer.o, d * inner, 2, at + "o");
    check_bytes(layer.wi, 2 * ff * d, 2, at + "wi_0|wi_1");
    check_bytes(layer.wo, d * ff, 2, at + "wo");
    check_bytes(layer.relative_bias, config_.relative_attention_num_buckets * config_.num_heads, 4,
                at + "relative bias");
  }
  check_bytes(weights_.final_norm, d, 4, "final norm");
}

size_t CudaUmt5Encoder::weight_bytes() const {
  size_t total = weights_.final_norm.size();
  for (const DeviceLayer& layer : weights_.layers)
    total += layer.attention_norm.size() + layer.ffn_norm.size() + layer.qkv.size() + layer.o.size() +
             layer.wi.size() + layer.wo.size() + layer.relative_bias.size();
  return total;
}

void CudaUmt5Encoder::mark(Umt5Stage stage) {
  if (stages_ != nullptr) stages_->stage(static_cast<int>(stage));
}

void CudaUmt5Encoder::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  const int64_t d = config_.d_model, inner = config_.num_heads * config_.d_kv, ff = config_.d_ff;
  const size_t r = static_cast<size_t>(rows);
  for (DeviceBuffer* buffer : {&x_, &normed_, &qkv_, &mixed_, &hidden_, &operand_, &scores_})
    *buffer = DeviceBuffer();  // free before growing
  x_ = DeviceBuffer(r * d * 4, "umt5 residual stream");
  normed_ = DeviceBuffer(r * d * 4, "umt5 normed");
  qkv_ = DeviceBuffer(r * 3 * inner * 4, "umt5 q|k|v");
  mixed_ = DeviceBuffer(r * inner * 4, "umt5 attention output");
  hidden_ = DeviceBuffer(r * 2 * ff * 4, "umt5 wi_0|wi_1 output");
  operand_ = DeviceBuffer(r * std::max({d, inner, ff}) * 2 * 2, "umt5 bf16 GEMM operands");  // high, low
  const int64_t per_head = runtime::cuda::t5_attention_head_floats(rows);
  scores_floats_ = per_head * std::clamp<int64_t>(kScoresBudgetFloats / per_head, 1, config_.num_heads);
  scores_ = DeviceBuffer(static_cast<size_t>(scores_floats_) * 4, "umt5 attention scores");
  capacity_ = rows;
}

void CudaUmt5Encoder::reserve_buckets(int64_t rows) {
  if (rows <= bucket_tokens_) return;
  // bucket of relative position r (key - query) at [r + rows - 1], as the CPU encoder.
  std::vector<int32_t> buckets(static_cast<size_t>(2 * rows - 1));
  for (int64_t r = -(rows - 1); r <= rows - 1; ++r)
    buckets[static_cast<size_t>(r + rows - 1)] = static_cast<int32_t>(t5_relative_bucket(
        r, config_.relative_attention_num_buckets, config_.relative_attention_max_distance));
  buckets_ = DeviceBuffer::from_vector(buckets, "umt5 relative buckets");
  bucket_tokens_ = rows;
}

std::vector<float> CudaUmt5Encoder::encode(std::span<const int32_t> ids, int64_t valid) {
  namespace cu = runtime::cuda;
  const int64_t d = config_.d_model, heads = config_.num_heads, head_dim = config_.d_kv, inner = heads * head_dim;
  const int64_t ff = config_.d_ff, padded = static_cast<int64_t>(ids.size()), n = valid;
  if (valid < 1 || valid > padded)
    runtime::throw_invalid("umt5: " + std::to_string(valid) + " prompt tokens of " + std::to_string(padded));
  mark(Umt5Stage::host);
  std::vector<float> output(static_cast<size_t>(padded * d), 0.0f);
  // The prompt's embedding rows on the host (ids checked there), then the device.
  runtime::embedding_lookup(embedding_.data(), embedding_.dtype(), config_.vocab_size, d, ids.data(), n,
                            output.data());
  reserve(n);
  reserve_buckets(n);
  x_.upload(output.data(), static_cast<size_t>(n * d) * sizeof(float), 0, stream_);
  float* x = x_.as<float>();
  float* normed = normed_.as<float>();
  float* qkv = qkv_.as<float>();
  // The bf16 GEMM operand [n, in] and, when split, its low part.
  uint16_t* high = operand_.as<uint16_t>();
  uint16_t* low = high + n * std::max({d, inner, ff});
  const int32_t* buckets = buckets_.as<int32_t>() + (bucket_tokens_ - n);  // [r + n - 1] for this n
  const float eps = static_cast<float>(config_.eps);
  const Umt5GemmPrecision precision = options_.precision;
  const bool split_all = precision == Umt5GemmPrecision::bf16x2, split_qkv = precision != Umt5GemmPrecision::bf16;
  const auto to_operand = [&](const float* values, int64_t count, bool split) {
    if (split)
      cu::float_to_bf16_split(values, high, low, count, stream_);
    else
      cu::float_to_bf16(values, high, count, stream_);
  };
  // y (+)= operand · Wᵀ; split: W high + W low, the second GEMM accumulating.
  const auto linear = [&](const DeviceBuffer& weight, int64_t in, int64_t out, float* y, bool accumulate, bool split) {
    cu::matmul_bf16_input(cublas_, high, n, in, weight.as<uint16_t>(), cu::WeightLayout::out_in, out, y, nullptr,
                          stream_, accumulate);
    if (split)
      cu::matmul_bf16_input(cublas_, low, n, in, weight.as<uint16_t>(), cu::WeightLayout::out_in, out, y, nullptr,
                            stream_, true);
  };
  for (const DeviceLayer& layer : weights_.layers) {
    // x += o(attention(RMSNorm(x))), the o GEMM adding into x.
    mark(Umt5Stage::norms);
    cu::rms_norm(x, n, d, layer.attention_norm.as<float>(), eps, normed, stream_);
    mark(Umt5Stage::linears);
    to_operand(normed, n * d, split_qkv);
    linear(layer.qkv, d, 3 * inner, qkv, false, split_qkv);
    mark(Umt5Stage::attention);
    cu::t5_attention(cublas_, qkv, qkv + inner, qkv + 2 * inner, 3 * inner, n, heads, head_dim,
                     layer.relative_bias.as<float>(), buckets, mixed_.as<float>(), scores_.as<float>(),
                     scores_floats_, stream_);
    mark(Umt5Stage::linears);
    to_operand(mixed_.as<float>(), n * inner, split_all);
    linear(layer.o, inner, d, x, true, split_all);
    // x += wo(gelu_tanh(wi_0 h) * wi_1 h), h = RMSNorm(x).
    mark(Umt5Stage::norms);
    cu::rms_norm(x, n, d, layer.ffn_norm.as<float>(), eps, normed, stream_);
    mark(Umt5Stage::linears);
    to_operand(normed, n * d, split_all);
    linear(layer.wi, d, 2 * ff, hidden_.as<float>(), false, split_all);
    cu::gated_gelu_tanh_bf16(hidden_.as<float>(), n, ff, high, split_all ? low : nullptr, stream_);
    linear(layer.wo, ff, d, x, true, split_all);
  }
  mark(Umt5Stage::norms);
  cu::rms_norm(x, n, d, weights_.final_norm.as<float>(), eps, normed, stream_);
  mark(Umt5Stage::host);
  normed_.download(output.data(), static_cast<size_t>(n * d) * sizeof(float), 0, stream_);
  if (stages_ != nullptr) stages_->end_pass();
  return output;
}

std::unique_ptr<TextEncoder> make_cuda_text_encoder(const Umt5Encoder& encoder, void* stream) {
  return std::make_unique<CudaTextEncoder>(encoder, stream);
}

}  // namespace citadel::vista
