// decoder_weights.h — the tensors of DeepSeek-OCR's decoder (embeddings, the
// attention and MLP of every layer, routed and shared experts, final norm,
// lm_head) under their released names, read by mmap from the checkpoint's
// safetensors (bf16, f16 or f32, used as stored). Every tensor is checked
// against the DecoderConfig: a missing tensor, a wrong shape or dtype throws
// runtime::RuntimeError naming the tensor and the checkpoint. The vision
// tensors (model.sam_model.*, model.vision_model.*, model.projector.*) are the
// vision library's. Built by the model (ocr_model.cpp), tests and bench.
#pragma once

#include "decoder_config.h"

#include "runtime/core/tensor.h"
#include "runtime/core/thread_pool.h"
#include "runtime/formats/safetensors.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace citadel::deepseek_ocr {

// y[rows, out] = x[rows, in] W^T with W [out, in] as stored (no bias).
struct Linear {
  runtime::Tensor weight;
  int64_t in_features() const { return weight.dim(1); }
  int64_t out_features() const { return weight.dim(0); }
  void forward(runtime::ThreadPool& pool, const float* x, int64_t rows, float* y) const;
};

// A SwiGLU MLP: down(silu(gate(x)) * up(x)).
struct GatedMlp {
  Linear gate, up, down;
  int64_t width() const { return gate.out_features(); }
};

struct DecoderLayerWeights {
  runtime::Tensor input_norm;           // f32 [hidden]
  runtime::Tensor post_attention_norm;  // f32 [hidden]
  Linear q, k, v, o;
  bool moe = false;
  GatedMlp dense;                  // !moe
  runtime::Tensor router;          // moe: f32 [n_routed_experts, hidden] (mlp.gate.weight)
  std::vector<GatedMlp> experts;   // moe: mlp.experts.E
  GatedMlp shared;                 // moe with shared experts: mlp.shared_experts
  bool has_shared = false;
};

struct DecoderWeights {
  runtime::Tensor embedding;   // [vocab, hidden] as stored
  runtime::Tensor final_norm;  // f32 [hidden]
  Linear lm_head;              // [vocab, hidden]
  std::vector<DecoderLayerWeights> layers;

  // out[count, hidden] = the embedding rows of `ids`.
  void embed(const int32_t* ids, int64_t count, float* out) const;
};

// Returns the tensor called `name`, or an undefined Tensor when there is none.
using TensorFinder = std::function<runtime::Tensor(const std::string& name)>;

// `source` names where the tensors come from in errors.
DecoderWeights load_decoder_weights(const DecoderConfig& config, const TensorFinder& find, const std::string& source);

// From an opened checkpoint folder (model.safetensors or its sharded index).
DecoderWeights load_decoder_weights(const DecoderConfig& config, const runtime::SafetensorsCheckpoint& checkpoint);

}  // namespace citadel::deepseek_ocr
