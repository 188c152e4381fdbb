// Random-weight checkpoints for benchmarks and tests (see random_model.h).
#include "random_model.h"

#include "runtime/core/half.h"
#include "runtime/kernels/gptq.h"

#include <cmath>
#include <random>

namespace citadel::llm {
namespace {

using runtime::DType;
using runtime::Tensor;

class RandomTensors {
 public:
  explicit RandomTensors(uint64_t seed) : rng_(seed) {}

  Tensor half_uniform(runtime::Shape shape, float bound) {
    Tensor tensor = Tensor::zeros(DType::f16, std::move(shape));
    uint16_t* data = tensor.data_as<uint16_t>();
    std::uniform_real_distribution<float> dist(-bound, bound);
    for (int64_t i = 0; i < tensor.numel(); ++i) data[i] = runtime::float_to_half(dist(rng_));
    return tensor;
  }
  Tensor half_constant(runtime::Shape shape, float value) {
    Tensor tensor = Tensor::zeros(DType::f16, std::move(shape));
    uint16_t* data = tensor.data_as<uint16_t>();
    for (int64_t i = 0; i < tensor.numel(); ++i) data[i] = runtime::float_to_half(value);
    return tensor;
  }
  Tensor words(runtime::Shape shape) {
    Tensor tensor = Tensor::zeros(DType::i32, std::move(shape));
    int32_t* data = tensor.data_as<int32_t>();
    for (int64_t i = 0; i < tensor.numel(); ++i) data[i] = static_cast<int32_t>(rng_());
    return tensor;
  }

 private:
  std::mt19937 rng_;
};

void add_linear(InMemoryCheckpoint& checkpoint, RandomTensors& random, const std::string& prefix,
                int64_t in, int64_t out, bool bias) {
  const HfModelConfig& config = checkpoint.config;
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  if (bias) checkpoint.tensors[prefix + ".bias"] = random.half_uniform({out}, bound);
  if (!config.gptq) {
    checkpoint.tensors[prefix + ".weight"] = random.half_uniform({out, in}, bound);
    return;
  }
  const GptqSettings& gptq = *config.gptq;
  const int64_t pack = 32 / gptq.bits;
  const int64_t groups = runtime::gptq_num_groups(in, gptq.group_size);
  const int32_t levels = 1 << gptq.bits;
  checkpoint.tensors[prefix + ".qweight"] = random.words({in / pack, out});
  // Symmetric: zero point levels/2, stored minus one (v1) or as is (v2).
  const uint32_t stored = static_cast<uint32_t>(levels / 2 - (gptq.format == GptqCheckpointFormat::gptq_v1 ? 1 : 0));
  uint32_t word = 0;
  for (int64_t k = 0; k < pack; ++k) word |= stored << (k * gptq.bits);
  Tensor qzeros = Tensor::zeros(DType::i32, {groups, out / pack});
  for (int64_t i = 0; i < qzeros.numel(); ++i) qzeros.data_as<int32_t>()[i] = static_cast<int32_t>(word);
  checkpoint.tensors[prefix + ".qzeros"] = qzeros;
  // Uniform levels have standard deviation ~levels/sqrt(12): scale so that
  // the weights' spread is about `bound`.
  const float scale = bound * std::sqrt(3.0f) / (static_cast<float>(levels) / 2.0f);
  checkpoint.tensors[prefix + ".scales"] = random.half_constant({groups, out}, scale);
  Tensor g_idx = Tensor::zeros(DType::i32, {in});
  const int64_t group_size = gptq.group_size < 0 ? in : gptq.group_size;
  for (int64_t i = 0; i < in; ++i) g_idx.data_as<int32_t>()[i] = static_cast<int32_t>(i / group_size);
  checkpoint.tensors[prefix + ".g_idx"] = g_idx;
}

}  // namespace

TensorFinder InMemoryCheckpoint::finder() const {
  return [this](const std::string& name) {
    auto found = tensors.find(name);
    return found == tensors.end() ? Tensor{} : found->second;
  };
}

InMemoryCheckpoint make_random_checkpoint(const HfModelConfig& config, uint64_t seed) {
  InMemoryCheckpoint checkpoint;
  checkpoint.config = config;
  RandomTensors random(seed);
  const int64_t hidden = config.hidden_size;
  const int64_t q_dim = int64_t{config.num_heads} * config.head_dim;
  const int64_t kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  const int64_t ffn = config.intermediate_size;
  auto& tensors = checkpoint.tensors;
  tensors["model.embed_tokens.weight"] = random.half_uniform({int64_t{config.vocab_size}, hidden}, 1.0f);
  tensors["model.norm.weight"] = random.half_constant({hidden}, 1.0f);
  if (!config.tie_word_embeddings) {
    tensors["lm_head.weight"] = random.half_uniform({int64_t{config.vocab_size}, hidden},
                                                    1.0f / std::sqrt(static_cast<float>(hidden)));
  }
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i);
    tensors[prefix + ".input_layernorm.weight"] = random.half_constant({hidden}, 1.0f);
    tensors[prefix + ".post_attention_layernorm.weight"] = random.half_constant({hidden}, 1.0f);
    if (config.qk_norm) {
      tensors[prefix + ".self_attn.q_norm.weight"] = random.half_constant({int64_t{config.head_dim}}, 1.0f);
      tensors[prefix + ".self_attn.k_norm.weight"] = random.half_constant({int64_t{config.head_dim}}, 1.0f);
    }
    add_linear(checkpoint, random, prefix + ".self_attn.q_proj", hidden, q_dim, config.attention_bias);
    add_linear(checkpoint, random, prefix + ".self_attn.k_proj", hidden, kv_dim, config.attention_bias);
    add_linear(checkpoint, random, prefix + ".self_attn.v_proj", hidden, kv_dim, config.attention_bias);
    add_linear(checkpoint, random, prefix + ".self_attn.o_proj", q_dim, hidden, false);
    add_linear(checkpoint, random, prefix + ".mlp.gate_proj", hidden, ffn, false);
    add_linear(checkpoint, random, prefix + ".mlp.up_proj", hidden, ffn, false);
    add_linear(checkpoint, random, prefix + ".mlp.down_proj", ffn, hidden, false);
  }
  return checkpoint;
}

namespace {
HfModelConfig llama_shape(uint32_t hidden, uint32_t ffn, uint32_t layers, uint32_t heads, uint32_t kv_heads,
                          uint32_t vocab, double theta) {
  HfModelConfig config;
  config.model_type = "llama";
  config.hidden_size = hidden;
  config.intermediate_size = ffn;
  config.num_layers = layers;
  config.num_heads = heads;
  config.num_kv_heads = kv_heads;
  config.head_dim = hidden / heads;
  config.vocab_size = vocab;
  config.max_position_embeddings = 8192;
  config.rms_norm_eps = 1e-5;
  config.rope.theta = theta;
  config.gptq = GptqSettings{};  // 4 bit, group 128, sym, v1
  return config;
}
}  // namespace

HfModelConfig tinyllama_1b_shape() { return llama_shape(2048, 5632, 22, 32, 4, 32000, 10000.0); }

HfModelConfig llama3_8b_shape() {
  HfModelConfig config = llama_shape(4096, 14336, 32, 32, 8, 128256, 500000.0);
  config.rope.scaling = RopeScalingKind::llama3;
  config.rope.factor = 8.0;
  return config;
}

}  // namespace citadel::llm
