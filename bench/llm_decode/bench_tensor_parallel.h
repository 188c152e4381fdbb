// bench_tensor_parallel.h — bench_llm_decode --tensor-parallel N: greedy
// decode steps of a random-weight model at batch 1/16/64 on one GPU
// (CudaForwardPass) and over N tensor-parallel ranks (TensorParallelForward
// on CUDA devices 0..N-1, or --tp-devices), one after the other in the same
// run, printed side by side. Called by main.cpp; CUDA builds only. Prints,
// never checks.
#pragma once

#include "hf_config.h"

#include <vector>

namespace citadel::llm {

struct TensorParallelBenchOptions {
  int ranks = 2;
  std::vector<int> devices;  // empty: 0..ranks-1
  int decode_steps = 20;
  int context = 512;
  bool peer_sums = false;  // --tp-peer: small sums by the peer-memory kernel
};

void run_tensor_parallel_shape(const char* name, const HfModelConfig& config,
                               const TensorParallelBenchOptions& options);

}  // namespace citadel::llm
