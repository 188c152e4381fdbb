// The throughput benchmark as a library: sends a synthetic dataset to a
// running Citadel over HTTP and measures it, in two modes as vLLM's
// benchmarks do:
//   offline (request_rate <= 0): every request at once, whole responses;
//     the figure is `Throughput: X requests/s, Y total tokens/s, Z output tokens/s`.
//   online (request_rate > 0): Poisson arrivals at that rate, streamed
//     responses; adds TTFT and TPOT p50/p99 (and ITL).
// Requests go round-robin to the models given, so two models can share the
// device in one run; the report breaks figures down per model.
//
// Called by bench/throughput/main.cpp, the admin `benchmark` command
// (host/admin) and POST /benchmark (host/http). Blocking; runs its own io threads. Thread-safe (no globals).
#pragma once

#include "host/loadgen/synthetic_dataset.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace citadel::loadgen {

struct BenchmarkOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::vector<std::string> models;  // at least one
  DatasetOptions dataset;
  double request_rate = 0;          // requests/s; <= 0: offline (all at once)
  uint32_t max_concurrency = 0;     // 0: unlimited
  uint32_t io_threads = 2;
  std::string api_key;              // for a host with http.api_keys (Authorization: Bearer)
};

// Percentiles of one latency, in milliseconds.
struct LatencySummary {
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

struct ModelFigures {
  uint32_t completed = 0;
  uint32_t failed = 0;
  uint64_t prompt_tokens = 0;
  uint64_t output_tokens = 0;
};

struct BenchmarkReport {
  bool online = false;
  double request_rate = 0;
  double duration_s = 0;
  uint32_t completed = 0;
  uint32_t failed = 0;
  uint64_t prompt_tokens = 0;
  uint64_t output_tokens = 0;
  double requests_per_s = 0;
  double total_tokens_per_s = 0;
  double output_tokens_per_s = 0;
  LatencySummary ttft;     // online only
  LatencySummary tpot;     // time per output token after the first (online only)
  LatencySummary itl;      // gaps between streamed chunks (online only)
  LatencySummary latency;  // whole request
  std::map<std::string, ModelFigures> per_model;
  std::vector<std::string> first_errors;  // up to 5 failure messages
};

BenchmarkReport run_benchmark(const BenchmarkOptions& options);

// Human-readable report; its first line is exactly
// "Throughput: X requests/s, Y total tokens/s, Z output tokens/s".
std::string format_report(const BenchmarkReport& report);

// The report as one JSON object (for the admin socket).
std::string report_json(const BenchmarkReport& report);

}  // namespace citadel::loadgen
