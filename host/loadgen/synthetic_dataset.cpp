// Synthetic ShareGPT-like dataset: log-normal lengths, word prompts.
#include "host/loadgen/synthetic_dataset.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace citadel::loadgen {

namespace {

const char* const kWords[] = {
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
    "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make",
    "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number",
    "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil",
    "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

// Median of a log-normal with the given mean and sigma of ln(x).
double median_for_mean(double mean, double sigma) { return mean / std::exp(sigma * sigma / 2.0); }

uint32_t draw_length(std::mt19937_64& random, double mean, double sigma, uint32_t low, uint32_t high) {
  std::lognormal_distribution<double> distribution(std::log(median_for_mean(mean, sigma)), sigma);
  const double value = std::round(distribution(random));
  return static_cast<uint32_t>(std::clamp(value, static_cast<double>(low), static_cast<double>(high)));
}

}  // namespace

std::vector<BenchRequest> make_dataset(const DatasetOptions& options) {
  std::mt19937_64 random(options.seed);
  std::uniform_int_distribution<size_t> word(0, kWordCount - 1);
  std::vector<BenchRequest> dataset;
  dataset.reserve(options.num_prompts);
  for (uint32_t index = 0; index < options.num_prompts; ++index) {
    BenchRequest request;
    request.prompt_words = draw_length(random, options.mean_input_tokens, options.input_sigma,
                                       options.min_tokens, options.max_input_tokens);
    request.output_tokens = draw_length(random, options.mean_output_tokens, options.output_sigma,
                                        options.min_tokens, options.max_output_tokens);
    for (uint32_t position = 0; position < request.prompt_words; ++position) {
      if (position > 0) request.prompt += ' ';
      request.prompt += kWords[word(random)];
    }
    dataset.push_back(std::move(request));
  }
  return dataset;
}

}  // namespace citadel::loadgen
