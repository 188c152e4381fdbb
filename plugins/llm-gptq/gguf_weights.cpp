// Reading a GGUF model's tensors by their llama.cpp names.
#include "gguf_weights.h"

#include "runtime/core/error.h"

#include <algorithm>

namespace citadel::llm {
namespace {

using runtime::GgmlType;
using runtime::GgufFile;
using runtime::GgufTensorInfo;
using runtime::Tensor;

class GgufWeightReader {
 public:
  explicit GgufWeightReader(std::shared_ptr<const GgufFile> file) : file_(std::move(file)) {}

  // The tensor `name` with exactly `dims` (ggml order: row length first).
  const GgufTensorInfo& require(const std::string& name, const std::vector<int64_t>& dims) const {
    const GgufTensorInfo& info = file_->tensor(name);
    if (info.dims != dims) {
      runtime::throw_invalid(file_->path().string() + ": tensor '" + name + "' has shape " +
                             runtime::shape_string(info.shape()) + ", expected " +
                             runtime::shape_string(runtime::Shape(dims.rbegin(), dims.rend())));
    }
    return info;
  }

  // An f32 copy of a 1-D F32/F16/BF16 tensor (norm weights, biases).
  Tensor vector(const std::string& name, int64_t size) const {
    require(name, {size});
    return file_->dense_tensor(name).to_f32();
  }

  // rope_heads > 0: a llama.cpp-permuted Q/K weight of that many heads,
  // whose rows are read in Hugging Face order (the order is sized only once
  // the tensor's shape has been checked).
  Projection linear(const std::string& name, int64_t in, int64_t out, const std::string& bias_name,
                    int64_t rope_heads = 0) const {
    const GgufTensorInfo& info = require(name, {in, out});
    std::vector<int32_t> row_order;
    if (rope_heads > 0) row_order = llama_rope_row_order(rope_heads, out / rope_heads);
    Tensor bias;
    if (!bias_name.empty()) {
      bias = vector(bias_name, out);
      if (!row_order.empty()) {
        Tensor ordered = Tensor::zeros(runtime::DType::f32, {out});
        for (int64_t r = 0; r < out; ++r) ordered.data_as<float>()[r] = bias.data_as<float>()[row_order[r]];
        bias = ordered;
      }
    }
    return Projection::ggml(name, runtime::GgmlMatrix{info.type, out, in, info.data}, file_, std::move(bias),
                            std::move(row_order));
  }

  bool has(const std::string& name) const { return file_->find_tensor(name) != nullptr; }

 private:
  std::shared_ptr<const GgufFile> file_;
};

}  // namespace

std::vector<int32_t> llama_rope_row_order(int64_t heads, int64_t head_dim) {
  // llama.cpp stores row (h, i, j) of each head at h*head_dim + 2i + j; HF
  // keeps it at h*head_dim + j*half + i (i < half = head_dim/2, j in {0, 1}).
  const int64_t half = head_dim / 2;
  std::vector<int32_t> order(static_cast<size_t>(heads * head_dim));
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < half; ++i) {
        order[static_cast<size_t>(h * head_dim + j * half + i)] = static_cast<int32_t>(h * head_dim + 2 * i + j);
      }
    }
  }
  return order;
}

ModelWeights load_gguf_weights(const HfModelConfig& config, std::shared_ptr<const GgufFile> file) {
  const GgufWeightReader reader(file);
  const int64_t hidden = config.hidden_size;
  const int64_t q_dim = int64_t{config.num_heads} * config.head_dim;
  const int64_t kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  const int64_t ffn = config.intermediate_size;
  const int64_t vocab = config.vocab_size;

  ModelWeights weights;
  weights.keep_alive = file;
  const GgufTensorInfo& embedding = reader.require("token_embd.weight", {hidden, vocab});
  if (embedding.type == GgmlType::f32 || embedding.type == GgmlType::f16 || embedding.type == GgmlType::bf16) {
    weights.embedding = file->dense_tensor("token_embd.weight");
  } else {
    weights.embedding_ggml = runtime::GgmlMatrix{embedding.type, vocab, hidden, embedding.data};
  }
  weights.final_norm = reader.vector("output_norm.weight", hidden);
  weights.lm_head = reader.linear(config.tie_word_embeddings ? "token_embd.weight" : "output.weight", hidden, vocab, "");

  // Only llama.cpp's LlamaModel converter permutes Q/K (as transformers' GGUF loader assumes).
  const bool permuted = config.model_type == "llama";
  // Grown block by block: a block_count the tensors do not back fails at
  // the first missing tensor, not by sizing a vector.
  weights.layers.reserve(std::min<size_t>(config.num_layers, file->tensors().size()));
  for (uint32_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& layer = weights.layers.emplace_back();
    layer.input_norm = reader.vector(p + "attn_norm.weight", hidden);
    layer.post_attention_norm = reader.vector(p + "ffn_norm.weight", hidden);
    if (config.qk_norm) {
      layer.q_norm = reader.vector(p + "attn_q_norm.weight", config.head_dim);
      layer.k_norm = reader.vector(p + "attn_k_norm.weight", config.head_dim);
    }
    auto bias = [&](const std::string& name) {
      if (config.attention_bias) return p + name;
      if (reader.has(p + name)) {
        runtime::throw_invalid(file->path().string() + ": tensor '" + p + name +
                               "' is present but blk.0 has no attention biases");
      }
      return std::string();
    };
    layer.q = reader.linear(p + "attn_q.weight", hidden, q_dim, bias("attn_q.bias"), permuted ? config.num_heads : 0);
    layer.k = reader.linear(p + "attn_k.weight", hidden, kv_dim, bias("attn_k.bias"), permuted ? config.num_kv_heads : 0);
    layer.v = reader.linear(p + "attn_v.weight", hidden, kv_dim, bias("attn_v.bias"));
    layer.o = reader.linear(p + "attn_output.weight", q_dim, hidden, "");
    layer.gate = reader.linear(p + "ffn_gate.weight", hidden, ffn, "");
    layer.up = reader.linear(p + "ffn_up.weight", hidden, ffn, "");
    layer.down = reader.linear(p + "ffn_down.weight", ffn, hidden, "");
  }
  return weights;
}

}  // namespace citadel::llm
