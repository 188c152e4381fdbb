// Benchmark arguments from JSON.
#include "host/loadgen/benchmark_request.h"

#include <boost/json.hpp>

#include <stdexcept>

namespace citadel::loadgen {
namespace {

using boost::json::object;

// An optional non-negative number argument.
double number_argument(const object& request, const char* key, double fallback) {
  const boost::json::value* value = request.if_contains(key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || value->to_number<double>() < 0)
    throw std::invalid_argument(std::string(key) + ": must be a non-negative number");
  return value->to_number<double>();
}

}  // namespace

BenchmarkOptions benchmark_options_from_json(const object& request) {
  BenchmarkOptions options;
  const boost::json::value* models = request.if_contains("models");
  if (models == nullptr) models = request.if_contains("model");
  if (models != nullptr && models->is_string()) {
    options.models.emplace_back(models->as_string());
  } else if (models != nullptr && models->is_array()) {
    for (const boost::json::value& model : models->as_array()) {
      if (!model.is_string()) throw std::invalid_argument("models: must be a list of names");
      options.models.emplace_back(model.as_string());
    }
  }
  if (options.models.empty()) throw std::invalid_argument("models: name at least one model");
  options.dataset.num_prompts =
      static_cast<uint32_t>(number_argument(request, "num_prompts", options.dataset.num_prompts));
  options.dataset.seed = static_cast<uint64_t>(number_argument(request, "seed", 0));
  options.dataset.mean_input_tokens =
      number_argument(request, "mean_input_tokens", options.dataset.mean_input_tokens);
  options.dataset.mean_output_tokens =
      number_argument(request, "mean_output_tokens", options.dataset.mean_output_tokens);
  options.request_rate = number_argument(request, "request_rate", 0);
  options.max_concurrency = static_cast<uint32_t>(number_argument(request, "max_concurrency", 0));
  return options;
}

}  // namespace citadel::loadgen
