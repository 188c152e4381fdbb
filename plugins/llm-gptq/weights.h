// weights.h — the tensors of a Llama-family model (Llama, Mistral, Qwen2,
// Qwen3), checked against the HfModelConfig and ready for the forward pass.
// load_model_weights() reads them by Hugging Face name from any tensor
// source (a safetensors checkpoint folder, or in-memory tensors in the
// benchmark and tests); every shape/dtype mismatch or missing tensor throws
// a runtime::RuntimeError naming the tensor, the expected and actual shape.
#pragma once

#include "hf_config.h"
#include "projection.h"

#include "runtime/core/tensor.h"
#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::llm {

struct LayerWeights {
  runtime::Tensor input_norm;           // f32 [hidden]
  runtime::Tensor post_attention_norm;  // f32 [hidden]
  runtime::Tensor q_norm, k_norm;       // f32 [head_dim], Qwen3 only
  Projection q, k, v, o;
  Projection gate, up, down;
};

struct ModelWeights {
  runtime::Tensor embedding;   // [vocab, hidden], f16/bf16/f32 (undefined when embedding_ggml is set)
  std::optional<runtime::GgmlMatrix> embedding_ggml;  // GGUF token_embd in a ggml type
  std::shared_ptr<const void> keep_alive;             // the GGUF mapping, when loaded from one
  runtime::Tensor final_norm;  // f32 [hidden]
  Projection lm_head;          // the embedding itself when tied
  std::vector<LayerWeights> layers;

  // out[count, hidden] = the embedding rows of `ids`.
  void embed(const int32_t* ids, int64_t count, float* out) const;
  // Weight bytes one decode step reads (all projections + lm_head).
  uint64_t bytes_per_decode_step() const;
};

// Returns the tensor called `name`, or an undefined Tensor when there is none.
using TensorFinder = std::function<runtime::Tensor(const std::string& name)>;

// `source` names where the tensors come from (the checkpoint folder) in errors.
ModelWeights load_model_weights(const HfModelConfig& config, const TensorFinder& find,
                                const std::string& source);

// The tensors of <folder>/model.safetensors (or its sharded index), mapped;
// the finder keeps the checkpoint open.
TensorFinder checkpoint_tensor_finder(const std::string& folder);

// Loads <folder>/model.safetensors (or its sharded index).
ModelWeights load_checkpoint_weights(const HfModelConfig& config, const std::string& folder);

}  // namespace citadel::llm
