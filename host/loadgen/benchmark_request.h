// The arguments of a benchmark run as JSON, shared by the admin `benchmark`
// command and POST /benchmark: {"models": NAME | [NAME...] ("model" too),
// "num_prompts", "seed", "mean_input_tokens", "mean_output_tokens",
// "request_rate" (0: offline), "max_concurrency"}. Checks shapes only; the
// callers check that the models exist and fill in host, port and api_key.
//
// Called by host/admin/benchmark_command.cpp and host/http/benchmark_endpoint.cpp.
#pragma once

#include "host/loadgen/load_generator.h"

#include <boost/json/object.hpp>

namespace citadel::loadgen {

// Throws std::invalid_argument "field: what is wrong".
BenchmarkOptions benchmark_options_from_json(const boost::json::object& request);

}  // namespace citadel::loadgen
