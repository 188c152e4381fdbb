// bench_throughput: the throughput benchmark against a running Citadel.
//   offline: bench_throughput --model m --num-prompts 200
//   online:  bench_throughput --model m --model m2 --request-rate 8
// Prints figures; never passes or fails on time.
#include "host/loadgen/load_generator.h"

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>

namespace po = boost::program_options;

int main(int argc, char** argv) {
  citadel::loadgen::BenchmarkOptions options;
  bool as_json = false;
  po::options_description description("bench_throughput options");
  description.add_options()
      ("help", "show this help")
      ("host", po::value(&options.host)->default_value("127.0.0.1"), "server address")
      ("port", po::value(&options.port)->default_value(8080), "server port")
      ("model", po::value(&options.models)->required(), "model name; repeat for several (round-robin)")
      ("num-prompts", po::value(&options.dataset.num_prompts)->default_value(200), "requests to send")
      ("request-rate", po::value(&options.request_rate)->default_value(0),
       "requests/s with Poisson arrivals and streaming (online); 0: all at once (offline)")
      ("max-concurrency", po::value(&options.max_concurrency)->default_value(0), "0: unlimited")
      ("seed", po::value(&options.dataset.seed)->default_value(0), "dataset and arrival seed")
      ("mean-input-len", po::value(&options.dataset.mean_input_tokens)->default_value(230), "mean prompt tokens")
      ("mean-output-len", po::value(&options.dataset.mean_output_tokens)->default_value(200), "mean output tokens")
      ("max-input-len", po::value(&options.dataset.max_input_tokens)->default_value(1024), "prompt length cap")
      ("max-output-len", po::value(&options.dataset.max_output_tokens)->default_value(512), "output length cap")
      ("min-len", po::value(&options.dataset.min_tokens)->default_value(4), "lower bound of prompt and output lengths")
      ("io-threads", po::value(&options.io_threads)->default_value(2), "client io threads")
      ("json", po::bool_switch(&as_json), "print the report as JSON");
  try {
    po::variables_map variables;
    po::store(po::parse_command_line(argc, argv, description), variables);
    if (variables.count("help")) {
      std::cout << description << "\n";
      return 0;
    }
    po::notify(variables);
    const citadel::loadgen::BenchmarkReport report = citadel::loadgen::run_benchmark(options);
    std::cout << (as_json ? citadel::loadgen::report_json(report) + "\n"
                          : citadel::loadgen::format_report(report));
    return report.completed > 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_throughput: %s\n", error.what());
    return 2;
  }
}
