// random_model.h — random-weight checkpoints generated in memory, in the
// exact tensor names and GPTQ packing of a real checkpoint, so that the
// benchmark (bench/llm_decode) and the tests can build models of any shape
// without files. Weights are scaled so activations stay in a sane range.
#pragma once

#include "hf_config.h"
#include "weights.h"

#include "runtime/core/tensor.h"

#include <cstdint>
#include <map>
#include <string>

namespace citadel::llm {

struct InMemoryCheckpoint {
  HfModelConfig config;
  std::map<std::string, runtime::Tensor> tensors;

  // A TensorFinder over `tensors` (the checkpoint must outlive it).
  TensorFinder finder() const;
};

// Makes every tensor load_model_weights() expects for `config`: projections
// GPTQ-packed when config.gptq is set (sym, g_idx present, v1 zeros), dense
// f16 otherwise; embeddings and an untied lm_head in f16.
InMemoryCheckpoint make_random_checkpoint(const HfModelConfig& config, uint64_t seed);

// Llama-architecture configs of well-known shapes, int4 group 128.
HfModelConfig tinyllama_1b_shape();
HfModelConfig llama3_8b_shape();

}  // namespace citadel::llm
