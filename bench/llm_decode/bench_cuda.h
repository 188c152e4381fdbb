// bench_cuda.h — the --cuda mode of bench_llm_decode: times llm-gptq's CUDA
// forward pass (cuda_forward.h) on a random-weight model of the given shape,
// KV blocks in device memory: decode at batch 1/16/64 (tokens/s beside the
// copy-bandwidth roofline of the bytes a step reads and beside cuBLAS f16 on
// the same linear shapes; with `stages`, where a step's time goes), decode at
// long contexts, and one prefill. Called
// by main.cpp; CUDA builds only. Prints, never checks.
#pragma once

#include "hf_config.h"

#include <vector>

namespace citadel::llm {

struct CudaBenchOptions {
  int decode_steps = 20;    // timed steps per batch size (median reported)
  int prefill_tokens = 512;
  int context = 128;        // positions each decoding sequence already holds
  std::vector<int> long_contexts;  // batch-16 decode at these contexts too
  bool stages = false;  // per-part table of each decode batch (StepStage), eager steps timed by CUDA events
};

void run_cuda_shape(const char* name, const HfModelConfig& config, const CudaBenchOptions& options);

}  // namespace citadel::llm
