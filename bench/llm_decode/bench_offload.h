// bench_offload.h — the --offload mode of bench_llm_decode: a 32B-class
// int4 model (Qwen2.5-32B shape, random weights, about 18 GB) under a GPU
// weight budget (default 16 GB): the layers that do not fit are streamed
// from pinned host memory each step (llm-gptq's gpu_layers, layer_streamer.h).
// Prints decode tokens/s at batch 1 and 32 beside the limit the measured
// pinned host-to-device bandwidth sets, and the same model fully resident.
// Called by main.cpp; CUDA builds only. Prints, never checks.
#pragma once

namespace citadel::llm {

struct OffloadBenchOptions {
  double budget_gb = 16.0;  // device bytes the weights may take
  int decode_steps = 10;    // timed steps per batch size (median)
  int context = 128;        // positions each sequence already holds
};

void run_offload_bench(const OffloadBenchOptions& options);

}  // namespace citadel::llm
