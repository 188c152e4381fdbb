// Loading and checking the model's tensors by their Hugging Face names.
#include "weights.h"

#include "runtime/core/error.h"
#include "runtime/formats/safetensors.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/ggml_matmul.h"

#include <initializer_list>

namespace citadel::llm {
namespace {

using runtime::DType;
using runtime::Shape;
using runtime::Tensor;

class WeightReader {
 public:
  WeightReader(const HfModelConfig& config, const TensorFinder& find, std::string source)
      : config_(config), find_(find), source_(std::move(source)) {}

  Tensor optional(const std::string& name) const { return find_(name); }

  // The tensor `name` with one of `dtypes` and exactly `shape`.
  Tensor require(const std::string& name, std::initializer_list<DType> dtypes, const Shape& shape) const {
    Tensor tensor = find_(name);
    if (!tensor.defined()) runtime::throw_not_found(source_ + ": missing tensor '" + name + "'");
    check(tensor, name, dtypes, shape);
    return tensor;
  }

  void check(const Tensor& tensor, const std::string& name, std::initializer_list<DType> dtypes,
             const Shape& shape) const {
    if (tensor.shape() != shape) {
      runtime::throw_invalid(source_ + ": tensor '" + name + "' has shape " +
                             runtime::shape_string(tensor.shape()) + ", expected " +
                             runtime::shape_string(shape));
    }
    for (DType dtype : dtypes) {
      if (tensor.dtype() == dtype) return;
    }
    std::string allowed;
    for (DType dtype : dtypes) allowed += (allowed.empty() ? "" : " or ") + std::string(runtime::dtype_name(dtype));
    runtime::throw_invalid(source_ + ": tensor '" + name + "' has dtype " +
                           std::string(runtime::dtype_name(tensor.dtype())) + ", expected " + allowed);
  }

  Tensor float_vector(const std::string& name, int64_t size) const {
    return require(name, {DType::f16, DType::bf16, DType::f32}, {size}).to_f32();
  }

  // q_proj, o_proj, ...: GPTQ (qweight/qzeros/scales/g_idx) or a dense weight.
  Projection linear(const std::string& prefix, int64_t in, int64_t out, bool bias_required) const {
    Tensor bias = find_(prefix + ".bias");
    if (bias.defined()) {
      check(bias, prefix + ".bias", {DType::f16, DType::bf16, DType::f32}, {out});
      bias = bias.to_f32();
    } else if (bias_required) {
      runtime::throw_not_found(source_ + ": missing tensor '" + prefix + ".bias' (" +
                               config_.model_type + " projections carry a bias)");
    }
    if (find_(prefix + ".qweight").defined()) return quantized(prefix, in, out, std::move(bias));
    if (!find_(prefix + ".weight").defined()) {
      runtime::throw_not_found(source_ + ": missing tensor '" + prefix + ".qweight' (GPTQ) or '" +
                               prefix + ".weight'");
    }
    Tensor weight = require(prefix + ".weight", {DType::f16, DType::bf16, DType::f32}, {out, in});
    return Projection::dense(prefix, std::move(weight), std::move(bias));
  }

 private:
  Projection quantized(const std::string& prefix, int64_t in, int64_t out, Tensor bias) const {
    if (!config_.gptq) {
      runtime::throw_invalid(source_ + ": tensor '" + prefix +
                             ".qweight' is GPTQ-packed but config.json has no quantization_config "
                             "and there is no quantize_config.json");
    }
    const GptqSettings& gptq = *config_.gptq;
    const int64_t pack = 32 / gptq.bits;
    if (in % pack != 0 || out % pack != 0) {
      runtime::throw_invalid(source_ + ": layer '" + prefix + "' has in=" + std::to_string(in) +
                             ", out=" + std::to_string(out) + ", not multiples of " +
                             std::to_string(pack) + " as " + std::to_string(gptq.bits) +
                             "-bit GPTQ packing requires");
    }
    const int64_t groups = runtime::gptq_num_groups(in, gptq.group_size);
    Tensor qweight = require(prefix + ".qweight", {DType::i32}, {in / pack, out});
    Tensor qzeros = require(prefix + ".qzeros", {DType::i32}, {groups, out / pack});
    Tensor scales = require(prefix + ".scales", {DType::f16, DType::bf16, DType::f32}, {groups, out});
    if (scales.dtype() != DType::f16) scales = scales.to_f32().converted(DType::f16);
    Tensor g_idx = find_(prefix + ".g_idx");
    if (g_idx.defined()) check(g_idx, prefix + ".g_idx", {DType::i32}, {in});
    runtime::GptqTensors layout;
    layout.bits = static_cast<int>(gptq.bits);
    layout.in_features = in;
    layout.out_features = out;
    layout.group_size = gptq.group_size;
    layout.zero_format = gptq.format == GptqCheckpointFormat::gptq_v2 ? runtime::GptqZeroFormat::v2
                                                                      : runtime::GptqZeroFormat::v1;
    return Projection::gptq(prefix, layout, std::move(qweight), std::move(qzeros), std::move(scales),
                            std::move(g_idx), std::move(bias));
  }

  const HfModelConfig& config_;
  const TensorFinder& find_;
  std::string source_;
};

}  // namespace

void ModelWeights::embed(const int32_t* ids, int64_t count, float* out) const {
  if (embedding_ggml) {
    runtime::ggml_rows(*embedding_ggml, ids, count, out);
    return;
  }
  runtime::embedding_lookup(embedding.data(), embedding.dtype(), embedding.dim(0), embedding.dim(1), ids, count, out);
}

uint64_t ModelWeights::bytes_per_decode_step() const {
  uint64_t bytes = lm_head.weight_bytes();
  for (const LayerWeights& layer : layers) {
    for (const Projection* p : {&layer.q, &layer.k, &layer.v, &layer.o, &layer.gate, &layer.up, &layer.down}) {
      bytes += p->weight_bytes();
    }
  }
  return bytes;
}

ModelWeights load_model_weights(const HfModelConfig& config, const TensorFinder& find,
                                const std::string& source) {
  const WeightReader reader(config, find, source);
  const int64_t hidden = config.hidden_size;
  const int64_t q_dim = int64_t{config.num_heads} * config.head_dim;
  const int64_t kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  const int64_t ffn = config.intermediate_size;

  ModelWeights weights;
  weights.embedding = reader.require("model.embed_tokens.weight", {DType::f16, DType::bf16, DType::f32},
                                     {int64_t{config.vocab_size}, hidden});
  weights.final_norm = reader.float_vector("model.norm.weight", hidden);
  if (config.tie_word_embeddings) {
    weights.lm_head = Projection::dense("lm_head", weights.embedding);
  } else {
    weights.lm_head = reader.linear("lm_head", hidden, config.vocab_size, false);
  }
  weights.layers.resize(config.num_layers);
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i);
    LayerWeights& layer = weights.layers[i];
    layer.input_norm = reader.float_vector(prefix + ".input_layernorm.weight", hidden);
    layer.post_attention_norm = reader.float_vector(prefix + ".post_attention_layernorm.weight", hidden);
    if (config.qk_norm) {
      layer.q_norm = reader.float_vector(prefix + ".self_attn.q_norm.weight", config.head_dim);
      layer.k_norm = reader.float_vector(prefix + ".self_attn.k_norm.weight", config.head_dim);
    }
    const bool bias = config.attention_bias;
    layer.q = reader.linear(prefix + ".self_attn.q_proj", hidden, q_dim, bias);
    layer.k = reader.linear(prefix + ".self_attn.k_proj", hidden, kv_dim, bias);
    layer.v = reader.linear(prefix + ".self_attn.v_proj", hidden, kv_dim, bias);
    layer.o = reader.linear(prefix + ".self_attn.o_proj", q_dim, hidden, false);
    layer.gate = reader.linear(prefix + ".mlp.gate_proj", hidden, ffn, false);
    layer.up = reader.linear(prefix + ".mlp.up_proj", hidden, ffn, false);
    layer.down = reader.linear(prefix + ".mlp.down_proj", ffn, hidden, false);
  }
  return weights;
}

TensorFinder checkpoint_tensor_finder(const std::string& folder) {
  auto checkpoint = std::make_shared<runtime::SafetensorsCheckpoint>(folder);
  return [checkpoint](const std::string& name) { return checkpoint->has(name) ? checkpoint->tensor(name) : Tensor{}; };
}

ModelWeights load_checkpoint_weights(const HfModelConfig& config, const std::string& folder) {
  return load_model_weights(config, checkpoint_tensor_finder(folder), folder);
}

}  // namespace citadel::llm
