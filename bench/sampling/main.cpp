// bench_sampling: microseconds per row that runtime::Sampler::sample takes
// on the CPU (what every text plugin does for every generated token, on the
// step thread) for vocabularies of 49,152 and 128,256 entries, with logits
// drawn like a language model's (normal, sigma 3: a few likely tokens), for
// greedy decoding and the settings clients send. Median of --reps (31) rows,
// each on a fresh copy of the logits. Prints; never asserts.
#include "runtime/kernels/sampling.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using citadel::runtime::Sampler;
using citadel::runtime::SamplingParams;

namespace {

struct Setting {
  const char* label;
  SamplingParams params;
};

double median_us(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 31;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--reps" && a + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++a]));
    } else {
      std::printf("usage: bench_sampling [--reps N]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  auto params = [](float temperature, int32_t top_k, float top_p, float penalty) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.repetition_penalty = penalty;
    p.seed = 7;
    return p;
  };
  const std::vector<Setting> settings = {
      {"greedy", params(0.0f, 0, 1.0f, 1.0f)},
      {"temperature 1 (OpenAI default)", params(1.0f, 0, 1.0f, 1.0f)},
      {"temperature 0.7, top_p 0.9", params(0.7f, 0, 0.9f, 1.0f)},
      {"temperature 0.8, top_k 50", params(0.8f, 50, 1.0f, 1.0f)},
      {"temperature 0.6, top_k 20, top_p 0.95, penalty 1.1", params(0.6f, 20, 0.95f, 1.1f)},
  };
  std::mt19937 random(3);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::vector<int32_t> previous(512);
  for (int32_t& id : previous) id = static_cast<int32_t>(random() % 49152);
  std::printf("Sampler::sample, median of %d rows (us per row)\n", reps);
  for (const size_t vocab : {size_t{49152}, size_t{128256}}) {
    std::vector<float> logits(vocab);
    for (float& l : logits) l = logit(random);
    for (const Setting& setting : settings) {
      Sampler sampler(setting.params);
      std::vector<double> samples;
      int64_t checksum = 0;
      for (int r = 0; r < reps; ++r) {
        std::vector<float> row = logits;
        const auto start = std::chrono::steady_clock::now();
        checksum += sampler.sample(row, previous);
        samples.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
      }
      std::printf("vocab %6zu  %-52s %9.1f us  (ids sum %lld)\n", vocab, setting.label, median_us(samples),
                  static_cast<long long>(checksum));
    }
  }
  return 0;
}
