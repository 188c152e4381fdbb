// A seeded synthetic dataset with ShareGPT-like prompt and output lengths,
// for the throughput benchmark (in the spirit of vLLM's benchmark_throughput
// / benchmark_serving with --dataset-name sharegpt, but needing no download).
//
// Lengths are log-normal, as conversation lengths in ShareGPT are: a long
// right tail over a median of a hundred-odd tokens. With the defaults
// (mean 230 prompt tokens, mean 200 output tokens, sigma 0.9 / 0.8, clipped
// to [4, 1024] and [4, 512]) the means and spread are close to those of the
// ShareGPT V3 subset that vLLM's benchmarks sample. A prompt is made of
// common English words, about one token each for a BPE tokenizer; the server
// reports the real token counts in `usage`, and those are what the
// benchmark counts.
//
// Used by load_generator.cpp and by the admin `benchmark` command.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::loadgen {

struct DatasetOptions {
  uint64_t seed = 0;
  uint32_t num_prompts = 200;
  double mean_input_tokens = 230;
  double mean_output_tokens = 200;
  double input_sigma = 0.9;   // of ln(length)
  double output_sigma = 0.8;
  uint32_t min_tokens = 4;
  uint32_t max_input_tokens = 1024;
  uint32_t max_output_tokens = 512;
};

struct BenchRequest {
  std::string prompt;
  uint32_t prompt_words = 0;   // the intended prompt length
  uint32_t output_tokens = 0;  // max_tokens asked for
};

// The same options and seed always give the same dataset.
std::vector<BenchRequest> make_dataset(const DatasetOptions& options);

}  // namespace citadel::loadgen
