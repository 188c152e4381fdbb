// bench-reload: how long a reload takes to reach serving, with a stream of
// requests in flight, and how long the host takes to become ready.
//
//   bench-reload [--models N] [--reloads R] [--clients C]
//
// Starts the real citadel (build tree) on a temporary configuration with N
// echo test models, keeps C clients sending infer requests, and sends SIGHUP
// R times, alternating a models.d edit and a plugin .so swap (v1 <-> v2).
// Latency: SIGHUP sent -> `status` reports the new generation. Prints p50/p99
// and the number of failed requests; also host start -> ready (no models).
// Prints figures; never asserts.
#include "support/citadel_process.hpp"

#include "bench_flags.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace fs = std::filesystem;
using citadel::test::CitadelProcess;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kBuild = CITADEL_BINARY_DIR;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

struct Tree {
  fs::path root;
  Tree() {
    std::string pattern = (fs::temp_directory_path() / "citadel-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root = pattern;
    write_file(root / "citadel.yaml",
               "admin: {socket: run/admin.sock}\nplugins_dir: plugins\nmodels_dir: models.d\n"
               "runtime_dir: run/runtime\nhttp: {listen: \"\"}\ndevices: [cpu]\n"
               "cpu_cache_mb: 256\nlog_level: warn\n");
    fs::create_directories(root / "models.d");
    install("echo-v1");
  }
  ~Tree() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  void install(const std::string& variant) {
    const fs::path folder = root / "plugins" / "echo";
    fs::create_directories(folder);
    fs::copy_file(kBuild / "test-plugins" / variant / (variant + ".so"), folder / "echo.so.new",
                  fs::copy_options::overwrite_existing);
    fs::rename(folder / "echo.so.new", folder / "echo.so");
    write_file(folder / "plugin.yaml", "name: echo\nversion: \"1\"\n");
  }
  void model(int index, int tokens_per_block) {
    write_file(root / "models.d" / ("m" + std::to_string(index) + ".yaml"),
               "name: m" + std::to_string(index) + "\nplugin: echo\ndevice: cpu\ncache: {size_mb: 8}\n"
               "options: {step_delay_ms: 1, tokens_per_block: " + std::to_string(tokens_per_block) + "}\n");
  }
  std::unique_ptr<CitadelProcess> start() {
    return std::make_unique<CitadelProcess>(kBuild / "host" / "citadel", root / "citadel.yaml",
                                            root / "run" / "admin.sock", root / "citadel.log");
  }
};

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()));
  return values[index];
}

uint64_t generation(CitadelProcess& host) {
  return host.request({{"cmd", "status"}}).at("status").at("generation").to_number<uint64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  int models = 0, reloads = 0, clients = 0;
  try {
    const citadel::bench::BenchFlags flags(argc, argv);
    models = static_cast<int>(flags.integer("--models", 4));
    reloads = static_cast<int>(flags.integer("--reloads", 20));
    clients = static_cast<int>(flags.integer("--clients", 4));
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }

  // Start-up: no models, fork -> admin `status` answers.
  std::vector<double> startup_ms;
  for (int i = 0; i < 5; ++i) {
    Tree tree;
    const auto start = Clock::now();
    auto host = tree.start();
    host->wait_ready();
    startup_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    host->signal(SIGTERM);
    host->wait_exit(std::chrono::seconds(10));
  }

  Tree tree;
  for (int i = 0; i < models; ++i) tree.model(i, 16);
  auto host = tree.start();
  host->wait_ready();

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> completed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      uint64_t n = 0;
      while (!stop.load()) {
        const std::string model = "m" + std::to_string((c + n++) % models);
        try {
          auto reply = host->request({{"cmd", "infer"}, {"model", model},
                                      {"input", {{"prompt", "bench"}, {"max_tokens", 16}}}});
          (reply.at("ok").as_bool() ? completed : failed)++;
          if (!reply.at("ok").as_bool()) std::cerr << "failed: " << boost::json::serialize(reply) << "\n";
        } catch (const std::exception& e) {
          failed++;
          std::cerr << "failed: " << e.what() << "\n";
        }
      }
    });
  }

  std::vector<double> latency_ms;
  bool v2 = false;
  for (int r = 0; r < reloads; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (r % 2 == 0) {
      tree.model(0, r % 4 == 0 ? 8 : 16);  // a config edit
    } else {
      v2 = !v2;
      tree.install(v2 ? "echo-v2" : "echo-v1");  // a plugin swap: every model changes
    }
    const uint64_t before = generation(*host);
    const auto sent = Clock::now();
    host->signal(SIGHUP);
    while (generation(*host) == before) {
      if (Clock::now() - sent > std::chrono::seconds(30)) {
        std::cerr << "reload " << r << " did not finish in 30 s\n" << host->log();
        return 1;
      }
    }
    latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  host->signal(SIGTERM);
  const auto exit_status = host->wait_exit(std::chrono::seconds(30));

  std::printf("host start -> ready (no models): p50 %.1f ms, max %.1f ms over %zu starts\n",
              percentile(startup_ms, 0.5), percentile(startup_ms, 1.0), startup_ms.size());
  std::printf("reload (SIGHUP -> new generation serving), %d models, %d clients in flight:\n",
              models, clients);
  std::printf("  p50 %.1f ms, p99 %.1f ms, max %.1f ms over %zu reloads (config edits and .so swaps)\n",
              percentile(latency_ms, 0.5), percentile(latency_ms, 0.99), percentile(latency_ms, 1.0),
              latency_ms.size());
  std::printf("requests: %llu completed, %llu failed\n", static_cast<unsigned long long>(completed.load()),
              static_cast<unsigned long long>(failed.load()));
  std::printf("exit status after SIGTERM: %d\n", exit_status ? *exit_status : -1);
  return 0;
}
