// PluginModelInstance: the ModelInstance implementation — one plugin
// instance created through the plugin's create(), described, and bound to its
// HostContext (device, cache space, metrics).
//
// Created by PluginRegistry::create_instance; the reload path (host/core)
// attaches the cache space, the scheduler (host/sched) drives it. Destruction
// calls the plugin's destroy(), then releases the library.
#pragma once

#include "host/cache/device_claim.h"
#include "host/plugins/host_context.h"
#include "host/plugins/loaded_plugin.h"
#include "host/plugins/model_instance.h"

#include <memory>
#include <mutex>
#include <vector>

namespace citadel::plugins {

class PluginModelInstance : public ModelInstance {
 public:
  // Calls create() and describe(); throws PluginLoadError naming the model,
  // its file and the plugin on failure (the half-made instance is destroyed).
  PluginModelInstance(std::shared_ptr<LoadedPlugin> plugin, config::ModelConfig config,
                      std::unique_ptr<HostContext> context, uint64_t generation);
  ~PluginModelInstance() override;

  const config::ModelConfig& config() const override { return config_; }
  const citadel_model_info& info() const override { return info_; }
  const std::string& plugin_name() const override { return plugin_->name(); }
  const std::string& plugin_version() const override { return plugin_version_; }
  uint64_t generation() const override { return generation_; }
  std::shared_ptr<cache::CacheSpace> cache_space() const override;

  citadel_request_plan open_request(uint64_t request_id, const std::string& input_json,
                                    std::span<const uint8_t> payload) override;
  void step(const citadel_step_batch& batch, std::vector<citadel_step_output>& outputs) override;
  void close_request(uint64_t request_id) override;
  std::vector<int32_t> tokenize(const std::string& input_json) override;
  std::string detokenize(std::span<const int32_t> ids) override;

  // Set once, after describe() and before the first request.
  void attach_cache_space(std::shared_ptr<cache::CacheSpace> space);
  // describe()'s device claims (ABI 2.4; checked, host-owned copies), and the
  // pool claims the host took for them, held until the plugin has destroyed
  // the instance.
  const std::vector<citadel_device_claim>& device_claims() const { return device_claims_; }
  void attach_device_claims(std::vector<std::shared_ptr<cache::DeviceClaim>> claims);
  const common::DeviceName& device() const { return context_->device; }
  const std::shared_ptr<LoadedPlugin>& plugin() const { return plugin_; }
  const std::string& model_version() const { return model_version_; }

 private:
  [[noreturn]] void throw_call_error(const char* operation, const citadel_error& error) const;

  std::shared_ptr<LoadedPlugin> plugin_;  // destroyed last: closes the library
  std::unique_ptr<HostContext> context_;
  config::ModelConfig config_;
  uint64_t generation_;
  std::string plugin_version_;
  std::string model_version_;
  citadel_model_info info_{};
  std::vector<citadel_device_claim> device_claims_;
  std::vector<std::shared_ptr<cache::DeviceClaim>> claims_;  // released after destroy()
  citadel_instance* instance_ = nullptr;
  std::mutex call_mutex_;  // one plugin call at a time (plugin.h threading rule)
};

// The JSON object create() receives: {"name", "weights", "device", "options"}.
std::string instance_config_json(const config::ModelConfig& config, const std::string& device);

const char* task_name(citadel_task_kind task);  // "text_generation", ...

}  // namespace citadel::plugins
