// gguf_config.h — the model architecture of a GGUF file (general.architecture
// llama, qwen2 or qwen3 and its <arch>.* hyper-parameters) as the same
// HfModelConfig a Hugging Face folder gives, so the forward pass is shared.
// Called by the GGUF loader (gguf_model.cpp) and the tests. Unsupported
// architectures or settings (partial rotary, sliding windows, llama3
// rope_freqs, unknown RoPE scaling) throw runtime::RuntimeError naming the
// file and the metadata key or tensor.
#pragma once

#include "hf_config.h"

#include "runtime/formats/gguf_file.h"

namespace citadel::llm {

HfModelConfig gguf_model_config(const runtime::GgufFile& file);

}  // namespace citadel::llm
