// Loading and checking the decoder's tensors by their released names.
#include "decoder_weights.h"

#include "runtime/core/error.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/matmul.h"

namespace citadel::deepseek_ocr {
namespace {

using runtime::DType;
using runtime::Tensor;

class TensorReader {
 public:
  TensorReader(const TensorFinder& find, std::string source) : find_(find), source_(std::move(source)) {}

  // The tensor `name`, f32/f16/bf16 and exactly `shape`.
  Tensor require(const std::string& name, const runtime::Shape& shape) const {
    Tensor tensor = find_(name);
    if (!tensor.defined()) runtime::throw_not_found(source_ + ": missing tensor '" + name + "'");
    if (tensor.shape() != shape)
      runtime::throw_invalid(source_ + ": tensor '" + name + "' has shape " + runtime::shape_string(tensor.shape()) +
                             ", expected " + runtime::shape_string(shape));
    if (tensor.dtype() != DType::f32 && tensor.dtype() != DType::f16 && tensor.dtype() != DType::bf16)
      runtime::throw_invalid(source_ + ": tensor '" + name + "' has dtype " +
                             std::string(runtime::dtype_name(tensor.dtype())) + ", expected bf16, f16 or f32");
    return tensor;
  }
  Linear linear(const std::string& name, int64_t in, int64_t out) const { return Linear{require(name + ".weight", {out, in})}; }
  GatedMlp mlp(const std::string& prefix, int64_t hidden, int64_t width) const {
    return GatedMlp{linear(prefix + ".gate_proj", hidden, width), linear(prefix + ".up_proj", hidden, width),
                    linear(prefix + ".down_proj", width, hidden)};
  }

 private:
  const TensorFinder& find_;
  std::string source_;
};

}  // namespace

void Linear::forward(runtime::ThreadPool& pool, const float* x, int64_t rows, float* y) const {
  runtime::matmul(pool, x, rows, in_features(), weight.data(), weight.dtype(), out_features(), y);
}

void DecoderWeights::embed(const int32_t* ids, int64_t count, float* out) const {
  runtime::embedding_lookup(embedding.data(), embedding.dtype(), embedding.dim(0), embedding.dim(1), ids, count, out);
}

DecoderWeights load_decoder_weights(const DecoderConfig& config, const TensorFinder& find, const std::string& source) {
  const TensorReader reader(find, source);
  const int64_t hidden = config.hidden_size;
  const int64_t q_dim = int64_t{config.num_heads} * config.head_dim;
  const int64_t kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  DecoderWeights weights;
  weights.embedding = reader.require("model.embed_tokens.weight", {int64_t{config.vocab_size}, hidden});
  weights.final_norm = reader.require("model.norm.weight", {hidden}).to_f32();
  weights.lm_head = reader.linear("lm_head", hidden, config.vocab_size);
  weights.layers.resize(config.num_layers);
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i);
    DecoderLayerWeights& layer = weights.layers[i];
    layer.input_norm = reader.require(prefix + ".input_layernorm.weight", {hidden}).to_f32();
    layer.post_attention_norm = reader.require(prefix + ".post_attention_layernorm.weight", {hidden}).to_f32();
    layer.q = reader.linear(prefix + ".self_attn.q_proj", hidden, q_dim);
    layer.k = reader.linear(prefix + ".self_attn.k_proj", hidden, kv_dim);
    layer.v = reader.linear(prefix + ".self_attn.v_proj", hidden, kv_dim);
    layer.o = reader.linear(prefix + ".self_attn.o_proj", q_dim, hidden);
    layer.moe = config.is_moe_layer(i);
    if (!layer.moe) {
      layer.dense = reader.mlp(prefix + ".mlp", hidden, config.intermediate_size);
      continue;
    }
    layer.router = reader.require(prefix + ".mlp.gate.weight", {int64_t{config.n_routed_experts}, hidden}).to_f32();
    layer.experts.reserve(config.n_routed_experts);
    for (uint32_t e = 0; e < config.n_routed_experts; ++e)
      layer.experts.push_back(reader.mlp(prefix + ".mlp.experts." + std::to_string(e), hidden, config.moe_intermediate_size));
    layer.has_shared = config.n_shared_experts > 0;
    if (layer.has_shared) layer.shared = reader.mlp(prefix + ".mlp.shared_experts", hidden, config.shared_intermediate());
  }
  return weights;
}

DecoderWeights load_decoder_weights(const DecoderConfig& config, const runtime::SafetensorsCheckpoint& checkpoint) {
  const TensorFinder find = [&checkpoint](const std::string& name) {
    return checkpoint.has(name) ? checkpoint.tensor(name) : Tensor{};
  };
  return load_decoder_weights(config, find, checkpoint.directory().string());
}

}  // namespace citadel::deepseek_ocr
