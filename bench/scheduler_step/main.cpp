// bench_scheduler_step: the host's share of a decode step, scheduler
// included (issue 9's "host time per decode step"), measured on the CPU.
//
//   bench_scheduler_step [--batches 1,16,64] [--contexts 512,8192,32768]
//                        [--steps 200] [--plugin PATH]
//
// For each batch and context: a fresh CPU cache pool and ModelScheduler over
// the echo test plugin (build tree's test-plugins/echo-v1, a real .so),
// `batch` requests of `context` distinct prompt bytes (one token a byte, no
// shared prefix) asking for more tokens than the run lasts. Once every
// request has its first token (prefills done), the citadel_step_host_seconds
// histogram is read, and again `steps` steps later: the difference is
// `steps` decode steps of the whole batch. The rest is cancelled. Printed: the mean host time of those steps (the
// iteration less the plugin's step call), its histogram buckets, and the
// plugin's mean step time for scale (echo checks every cached position each
// step, so its own time grows with the context; that is not the host's).
#include "bench_flags.h"

#include "host/cache/cache_manager.h"
#include "host/config/model_config.h"
#include "host/metrics/registry.h"
#include "host/plugins/plugin_registry.h"
#include "host/sched/model_scheduler.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace citadel;

namespace {

// Counts first tokens and final events of the bench's requests.
struct Progress {
  std::mutex mutex;
  std::condition_variable changed;
  size_t started = 0;  // requests with text
  size_t finished = 0;
  size_t failed = 0;
  std::string first_error;

  sched::EventSink sink() {
    auto seen = std::make_shared<bool>(false);
    return [this, seen](const sched::InferenceEvent& event) {
      std::lock_guard lock(mutex);
      if (!event.text.empty() && !*seen) {
        *seen = true;
        ++started;
      }
      if (event.final) {
        ++finished;
        if (event.finish_reason == sched::FinishReason::error || event.finish_reason == sched::FinishReason::cancelled) {
          ++failed;
          if (first_error.empty()) first_error = event.error_code + ": " + event.error_message;
        }
      }
      changed.notify_all();
    };
  }
  void wait(size_t Progress::*counter, size_t count) {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::minutes(10), [&] { return this->*counter >= count || failed > 0; })) {
      throw std::runtime_error("timed out after 10 minutes");
    }
    if (failed > 0) throw std::runtime_error("a request failed: " + first_error);
  }
};

struct Figures {
  double host_mean_us = 0;
  double plugin_mean_us = 0;
  uint64_t steps = 0;
  metrics::Histogram::Snapshot host;  // decode steps only
};

metrics::Histogram::Snapshot difference(const metrics::Histogram::Snapshot& after,
                                        const metrics::Histogram::Snapshot& before) {
  metrics::Histogram::Snapshot result = after;
  for (size_t i = 0; i < result.cumulative_counts.size(); ++i) {
    result.cumulative_counts[i] -= before.cumulative_counts[i];
  }
  result.sum -= before.sum;
  result.count -= before.count;
  return result;
}

Figures run_case(const fs::path& plugin, const fs::path& runtime, uint32_t batch, uint32_t context, uint32_t steps) {
  const uint32_t max_context = context + steps * 10 + batch * (context / 8192 + 2) + 1016;
  config::HostConfig host;
  host.devices = {{"cpu", "cpu"}};
  // 16 bytes a token (one layer), 2x for slack.
  const uint64_t cache_mb = 2 * (uint64_t{batch} * max_context * 16 >> 20) + 16;
  host.cpu_cache_mb = cache_mb;
  cache::CacheManagerOptions cache_options;
  cache_options.pool.background_gc = false;
  cache::CacheManager caches(host, cache_options);
  metrics::Registry registry;
  plugins::PluginRegistry registry_of_plugins(runtime, &registry);

  config::PluginManifest manifest;
  manifest.name = "echo-v1";
  manifest.version = "1.0.0";
  manifest.library = plugin.string();
  manifest.source_file = (plugin.parent_path() / "plugin.yaml").string();
  config::ModelConfig model;
  model.name = "bench";
  model.plugin = manifest.name;
  model.device = "cpu";
  model.options_json = "{\"tokens_per_block\": 16, \"num_layers\": 1, \"bytes_per_token_per_layer\": 16, "
                       "\"max_context_tokens\": " + std::to_string(max_context) +
                       ", \"max_batch_requests\": " + std::to_string(batch) + ", \"max_step_tokens\": 8192}";
  model.cache.size_mb = cache_mb;
  model.cache.gc_threshold = 1.0;
  model.scheduler.max_step_tokens = 8192;
  model.scheduler.max_queue = batch;
  model.source_file = (runtime / "bench.yaml").string();
  auto instance = registry_of_plugins.create_instance(model, manifest, common::DeviceName{}, 1);
  const citadel_model_info& info = instance->info();
  cache::CacheSpaceSettings space;
  space.model = model.name;
  space.geometry.tokens_per_block = info.tokens_per_block;
  space.geometry.block_bytes = uint64_t{info.tokens_per_block} * info.num_layers * info.bytes_per_token_per_layer;
  space.cache = model.cache;
  instance->attach_cache_space(caches.create_space("cpu", space));
  auto scheduler = std::make_shared<sched::ModelScheduler>(instance, registry);

  metrics::Histogram& host_seconds = registry.histogram("citadel_step_host_seconds", "", {}, {{"model", "bench"}});
  metrics::Histogram& step_seconds = registry.histogram("citadel_step_duration_seconds", "", {}, {{"model", "bench"}});

  Progress progress;
  std::mt19937 random(context * 131 + batch);
  for (uint32_t r = 0; r < batch; ++r) {
    std::string prompt(context, 'a');
    for (char& c : prompt) c = static_cast<char>('a' + random() % 26);
    sched::InferenceRequest request;
    request.model = model.name;
    // Enough tokens to outlast the other prefills and the timed steps.
    const uint32_t max_tokens = steps * 10 + batch * (context / 8192 + 2) + 1000;
    request.input_json =
        "{\"prompt\": \"" + prompt + "\", \"max_tokens\": " + std::to_string(max_tokens) + "}";
    sched::Submission submission = scheduler->submit(std::move(request), progress.sink());
    if (!submission) throw std::runtime_error("request refused: " + submission.rejection.message);
  }
  progress.wait(&Progress::started, batch);
  const metrics::Histogram::Snapshot host_before = host_seconds.snapshot();
  const metrics::Histogram::Snapshot step_before = step_seconds.snapshot();
  // Every request decodes from here on; `steps` steps of the whole batch.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (host_seconds.snapshot().count < host_before.count + steps) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out after 10 minutes");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const metrics::Histogram::Snapshot step_delta = difference(step_seconds.snapshot(), step_before);

  Figures figures;
  figures.host = difference(host_seconds.snapshot(), host_before);
  figures.steps = figures.host.count;
  figures.host_mean_us = figures.host.sum / double(figures.steps) * 1e6;
  figures.plugin_mean_us = step_delta.sum / double(std::max<uint64_t>(step_delta.count, 1)) * 1e6;
  {
    std::lock_guard lock(progress.mutex);
    if (progress.finished > 0) {
      throw std::runtime_error(std::to_string(progress.finished) + " requests finished inside the timed steps (" +
                               std::to_string(figures.steps) + " steps; " + progress.first_error + ")");
    }
  }
  scheduler->stop();
  return figures;
}

std::string buckets(const metrics::Histogram::Snapshot& snapshot) {
  std::string text;
  uint64_t previous = 0;
  for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    const uint64_t in_bucket = snapshot.cumulative_counts[i] - previous;
    previous = snapshot.cumulative_counts[i];
    if (in_bucket == 0) continue;
    char cell[48];
    if (i < snapshot.upper_bounds.size()) {
      std::snprintf(cell, sizeof cell, " <=%gus:%llu", snapshot.upper_bounds[i] * 1e6,
                    static_cast<unsigned long long>(in_bucket));
    } else {
      std::snprintf(cell, sizeof cell, " more:%llu", static_cast<unsigned long long>(in_bucket));
    }
    text += cell;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bench::BenchFlags flags(argc, argv);
    const std::vector<int> batches = flags.integer_list("--batches", {1, 16, 64});
    const std::vector<int> contexts = flags.integer_list("--contexts", {512, 8192, 32768});
    const auto steps = static_cast<uint32_t>(flags.integer("--steps", 200));
    const fs::path plugin =
        flags.text("--plugin", (fs::path(CITADEL_BINARY_DIR) / "test-plugins" / "echo-v1" / "echo-v1.so").string());
    flags.reject_unknown();
    spdlog::set_level(spdlog::level::warn);
    if (!fs::exists(plugin)) throw std::invalid_argument("--plugin: " + plugin.string() + " does not exist");
    if (steps == 0) throw std::invalid_argument("--steps: must be at least 1");

    std::string pattern = (fs::temp_directory_path() / "citadel-bench-sched-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    const fs::path runtime = pattern;

    std::printf("scheduler host time per decode step (citadel_step_host_seconds), echo plugin, %u steps\n", steps);
    for (int context : contexts) {
      for (int batch : batches) {
        if (batch <= 0 || context <= 0) throw std::invalid_argument("batches and contexts must be positive");
        const Figures figures = run_case(plugin, runtime, static_cast<uint32_t>(batch),
                                         static_cast<uint32_t>(context), steps);
        std::printf("context %6d  batch %3d  host %8.2f us/step  (plugin step %9.1f us; %llu steps)  buckets%s\n",
                    context, batch, figures.host_mean_us, figures.plugin_mean_us,
                    static_cast<unsigned long long>(figures.steps), buckets(figures.host).c_str());
        std::fflush(stdout);
      }
    }
    std::error_code ignored;
    fs::remove_all(runtime, ignored);
    return 0;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bench_scheduler_step: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_scheduler_step: %s\n", e.what());
    return 1;
  }
}
