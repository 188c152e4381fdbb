// Helpers for the scheduler tests: real echo plugin instances (the .so built
// by tests/plugins) with real cache spaces from a CPU CacheManager, and an
// event collector that waits for a request's final event.
//
// Used by tests/sched/*_test.cpp only (header-only: the test glob compiles
// *_test.cpp files).
#pragma once

#include "support/test_support.hpp"

#include "host/cache/cache_manager.h"
#include "host/metrics/registry.h"
#include "host/plugins/plugin_registry.h"
#include "host/sched/device_arbiter.h"
#include "host/sched/model_scheduler.h"

#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace citadel::test {

struct EchoModelSetup {
  std::string name = "echo";
  std::string options_json = "{}";  // echo options: step_delay_ms, tokens_per_block, ...
  uint64_t cache_size_mb = 16;
  config::SchedulerSettings scheduler;
};

// One CPU cache pool (no background GC) and the echo-v1 plugin.
class SchedulerFixture {
 public:
  explicit SchedulerFixture(double swap_space_gb = 0.0, uint64_t cpu_cache_mb = 64);

  std::shared_ptr<plugins::PluginModelInstance> make_instance(const EchoModelSetup& setup);
  std::shared_ptr<sched::ModelScheduler> make_scheduler(const EchoModelSetup& setup,
                                                        std::shared_ptr<sched::DeviceArbiter> arbiter = nullptr);

  metrics::Registry metrics;
  TempDir runtime;
  std::unique_ptr<cache::CacheManager> caches;
  std::unique_ptr<plugins::PluginRegistry> plugins;
};

// The events of one request, in order. Thread-safe.
class EventCollector {
 public:
  sched::EventSink sink();
  // Waits for the final event; false on timeout.
  bool wait_final(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until at least `bytes` of text arrived; false on timeout.
  bool wait_text(size_t bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::string text() const;
  sched::InferenceEvent final_event() const;
  std::vector<sched::InferenceEvent> events() const;
  bool finished() const;

 private:
  struct State {
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::vector<sched::InferenceEvent> events;
    int finals = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Holds a device so the schedulers on it cannot step: requests submitted
// while the gate is closed are all queued before their scheduler's next
// step, whatever the machine's load.
class DeviceGate {
 public:
  explicit DeviceGate(sched::DeviceArbiter& arbiter) : arbiter_(arbiter), id_(arbiter.join("test-gate", 1.0)) {}
  ~DeviceGate() {
    open();
    arbiter_.leave(id_);
  }
  DeviceGate(const DeviceGate&) = delete;
  DeviceGate& operator=(const DeviceGate&) = delete;
  // Waits for the step in progress, then holds the device.
  void close() {
    if (closed_) return;
    arbiter_.acquire(id_);
    closed_ = true;
  }
  void open() {
    if (!closed_) return;
    arbiter_.release(id_, std::chrono::nanoseconds(0));
    arbiter_.idle(id_);
    closed_ = false;
  }

 private:
  sched::DeviceArbiter& arbiter_;
  sched::DeviceArbiter::ParticipantId id_;
  bool closed_ = false;
};

// {"prompt": prompt, "max_tokens": max_tokens}
std::string echo_input(const std::string& prompt, uint32_t max_tokens);
// A request for `model` with that input.
sched::InferenceRequest echo_request(const std::string& model, const std::string& prompt, uint32_t max_tokens,
                                     int priority = 0);
// What the echo plugin generates: the prompt repeated, cut to max_tokens bytes.
std::string echo_output(const std::string& prompt, uint32_t max_tokens);

// --- definitions ---

inline SchedulerFixture::SchedulerFixture(double swap_space_gb, uint64_t cpu_cache_mb) {
  config::HostConfig host;
  host.cpu_cache_mb = cpu_cache_mb;
  host.swap_space_gb = swap_space_gb;
  host.devices = {{"cpu", "cpu"}};
  cache::CacheManagerOptions options;
  options.pool.background_gc = false;
  caches = std::make_unique<cache::CacheManager>(host, options);
  plugins = std::make_unique<plugins::PluginRegistry>(runtime.path(), &metrics);
}

inline std::shared_ptr<plugins::PluginModelInstance> SchedulerFixture::make_instance(const EchoModelSetup& setup) {
  const auto library = binary_dir() / "test-plugins" / "echo-v1" / "echo-v1.so";
  config::PluginManifest manifest;
  manifest.name = "echo-v1";
  manifest.version = "1.0.0";
  manifest.library = library.string();
  manifest.source_file = (library.parent_path() / "plugin.yaml").string();

  config::ModelConfig model;
  model.name = setup.name;
  model.plugin = "echo-v1";
  model.device = "cpu";
  model.options_json = setup.options_json;
  model.cache.size_mb = setup.cache_size_mb;
  model.scheduler = setup.scheduler;
  model.source_file = (runtime.path() / (setup.name + ".yaml")).string();

  auto instance = plugins->create_instance(model, manifest, common::DeviceName{}, 1);
  const citadel_model_info& info = instance->info();
  cache::CacheSpaceSettings settings;
  settings.model = setup.name;
  settings.geometry.tokens_per_block = info.tokens_per_block;
  settings.geometry.block_bytes =
      uint64_t{info.tokens_per_block} * info.num_layers * info.bytes_per_token_per_layer;
  settings.cache = model.cache;
  instance->attach_cache_space(caches->create_space("cpu", settings));
  return instance;
}

inline std::shared_ptr<sched::ModelScheduler> SchedulerFixture::make_scheduler(
    const EchoModelSetup& setup, std::shared_ptr<sched::DeviceArbiter> arbiter) {
  return std::make_shared<sched::ModelScheduler>(make_instance(setup), metrics, std::move(arbiter));
}

inline sched::EventSink EventCollector::sink() {
  return [state = state_](const sched::InferenceEvent& event) {
    {
      std::lock_guard lock(state->mutex);
      state->events.push_back(event);
      if (event.final) ++state->finals;
    }
    state->changed.notify_all();
  };
}

inline bool EventCollector::wait_final(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->finals > 0; });
}

inline bool EventCollector::wait_text(size_t bytes, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] {
    size_t received = 0;
    for (const auto& event : state_->events) received += event.text.size();
    return received >= bytes;
  });
}

inline bool EventCollector::finished() const {
  std::lock_guard lock(state_->mutex);
  return state_->finals > 0;
}

inline std::string EventCollector::text() const {
  std::lock_guard lock(state_->mutex);
  std::string text;
  for (const auto& event : state_->events) text += event.text;
  return text;
}

inline sched::InferenceEvent EventCollector::final_event() const {
  std::lock_guard lock(state_->mutex);
  for (const auto& event : state_->events) {
    if (event.final) return event;
  }
  throw std::runtime_error("request has no final event yet");
}

inline std::vector<sched::InferenceEvent> EventCollector::events() const {
  std::lock_guard lock(state_->mutex);
  return state_->events;
}

inline std::string echo_input(const std::string& prompt, uint32_t max_tokens) {
  boost::json::object input;
  input["prompt"] = prompt;
  input["max_tokens"] = max_tokens;
  return boost::json::serialize(input);
}

inline sched::InferenceRequest echo_request(const std::string& model, const std::string& prompt,
                                            uint32_t max_tokens, int priority) {
  sched::InferenceRequest request;
  request.model = model;
  request.input_json = echo_input(prompt, max_tokens);
  request.priority = priority;
  return request;
}

inline std::string echo_output(const std::string& prompt, uint32_t max_tokens) {
  std::string out;
  for (uint32_t i = 0; i < max_tokens; ++i) out += prompt[i % prompt.size()];
  return out;
}

}  // namespace citadel::test
