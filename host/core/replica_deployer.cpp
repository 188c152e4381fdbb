// ReplicaDeployer: device placement, instance, cache space and scheduler of
// each replica of a model. See replica_deployer.h.
#include "host/core/replica_deployer.h"

#include "host/common/device_name.h"
#include "host/plugins/plugin_load_error.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace citadel::core {

ReplicaDeployer::ReplicaDeployer(plugins::PluginRegistry& registry, cache::CacheManager& cache,
                                 sched::DeviceArbiters& arbiters, metrics::Registry& metrics)
    : registry_(registry), cache_(cache), arbiters_(arbiters), metrics_(metrics) {}

std::string ReplicaDeployer::space_name(const std::string& model, uint64_t generation, uint32_t replica) {
  std::string name = model + "@g" + std::to_string(generation);
  if (replica != 0) name += ".r" + std::to_string(replica);
  return name;
}

std::vector<std::string> removed_devices(const cache::CacheManager& cache, const config::HostConfig& next) {
  std::vector<std::string> removed;
  if (next.devices.empty()) return removed;  // every GPU found: nothing named, nothing removed
  for (const std::string& device : cache.devices()) {
    const bool kept = std::any_of(next.devices.begin(), next.devices.end(),
                                  [&](const config::DeviceSpec& spec) { return spec.name == device; });
    if (!kept && device != "cpu") removed.push_back(device);
  }
  return removed;
}

std::vector<std::shared_ptr<cache::DeviceClaim>> ReplicaDeployer::claim_devices(
    const plugins::PluginModelInstance& instance, const std::string& device, const std::string& space_name) {
  std::vector<std::shared_ptr<cache::DeviceClaim>> claims;
  if (instance.device_claims().empty()) return claims;
  // Every block id the space can hold may have a share on each claim's device.
  const cache::CacheSpaceStats space = instance.cache_space()->stats();
  const uint64_t blocks = space.budget_bytes / instance.cache_space()->geometry().block_bytes;
  for (const citadel_device_claim& wanted : instance.device_claims()) {
    const std::string physical =
        wanted.kind == CITADEL_DEVICE_CUDA ? "cuda:" + std::to_string(wanted.ordinal) : std::string("cpu");
    const uint64_t chunked = (blocks + wanted.blocks_per_chunk - 1) / wanted.blocks_per_chunk * wanted.blocks_per_chunk;
    const uint64_t bytes = wanted.fixed_bytes + chunked * wanted.bytes_per_block;
    try {
      claims.push_back(cache_.claim(physical, device, space_name, bytes));
    } catch (const std::exception& e) {
      throw std::runtime_error(instance.config().source_file + ": the model keeps memory on " + physical + ": " +
                               e.what());
    }
    spdlog::info("model {}: {} MiB claimed on {} ({} MiB fixed, {} bytes for each of {} cache block ids)",
                 instance.config().name, (bytes + (1u << 19)) >> 20, claims.back()->device(),
                 (wanted.fixed_bytes + (1u << 19)) >> 20, wanted.bytes_per_block, chunked);
  }
  return claims;
}

sched::Replica ReplicaDeployer::create_replica(const config::ModelConfig& model,
                                               const config::Configuration& next, uint64_t generation,
                                               uint32_t index, const std::vector<sched::Replica>& placed) {
  const config::PluginManifest& manifest = next.plugins.at(model.plugin);
  const std::string which = model.replicas > 1 ? " replica " + std::to_string(index) : "";
  std::string device;
  try {
    if (model.device == "auto" || model.device.empty()) {
      // Replicas spread over the devices; a device removed from citadel.yaml
      // serves until the restart but takes no new replica.
      std::map<std::string, uint32_t> siblings;
      for (const sched::Replica& replica : placed) ++siblings[replica.device];
      const cache::CacheManager::AutoDevice choice =
          cache_.choose_auto_device(removed_devices(cache_, next.host), siblings);
      device = choice.device;
      spdlog::info("model {}{} ({}): device auto -> {}: {}", model.name, which, model.source_file, device,
                   choice.reason);
    } else {
      device = cache_.resolve_device(model.device);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(model.source_file + ": device: " + e.what());
  }
  // The plugin runs on the physical device; the cache space lies in the pool of `device`.
  auto instance =
      registry_.create_instance(model, manifest, common::DeviceName::parse(cache_.physical_device(device)), generation);
  const citadel_model_info& info = instance->info();
  cache::CacheSpaceSettings settings;
  settings.model = space_name(model.name, generation, index);
  settings.geometry.tokens_per_block = info.tokens_per_block;
  settings.geometry.block_bytes =
      uint64_t{info.tokens_per_block} * info.num_layers * info.bytes_per_token_per_layer;
  settings.cache = model.cache;
  settings.weight_bytes = info.device_weight_bytes;
  try {
    instance->attach_cache_space(cache_.create_space(device, settings));
  } catch (const std::exception& e) {
    throw std::runtime_error(model.source_file + ": cache" + (which.empty() ? "" : " (" + which.substr(1) + ")") +
                             ": " + e.what());
  }
  instance->attach_device_claims(claim_devices(*instance, device, settings.model));
  sched::Replica replica;
  replica.scheduler = std::make_shared<sched::ModelScheduler>(instance, metrics_, arbiters_.for_device(device));
  replica.device = device;
  replica.index = index;
  return replica;
}

ModelDeployment ReplicaDeployer::deploy(const config::ModelConfig& model, const config::Configuration& next,
                                        uint64_t generation, const sched::ReplicaSet* resize_from) {
  auto manifest = next.plugins.find(model.plugin);
  if (manifest == next.plugins.end()) {
    throw plugins::PluginLoadError(model.source_file + ": plugin: no plugin named " + model.plugin);
  }
  ModelDeployment deployment;
  deployment.name = model.name;
  std::vector<sched::Replica> replicas;
  if (resize_from != nullptr) {
    const size_t kept = std::min<size_t>(model.replicas, resize_from->replicas().size());
    replicas.assign(resize_from->replicas().begin(), resize_from->replicas().begin() + kept);
  }
  try {
    for (uint32_t index = static_cast<uint32_t>(replicas.size()); index < model.replicas; ++index) {
      replicas.push_back(create_replica(model, next, generation, index, replicas));
      deployment.created.push_back(replicas.back().scheduler);
    }
  } catch (...) {
    for (auto& scheduler : deployment.created) scheduler->stop();
    throw;
  }
  deployment.set = std::make_shared<sched::ReplicaSet>(model.name, std::move(replicas), metrics_);
  return deployment;
}

bool only_replicas_changed(const config::Configuration& before, const config::Configuration& after,
                           const std::string& model) {
  auto old_model = before.models.find(model);
  auto new_model = after.models.find(model);
  if (old_model == before.models.end() || new_model == after.models.end()) return false;
  config::ModelConfig same_count = old_model->second;
  same_count.replicas = new_model->second.replicas;
  if (!(same_count == new_model->second)) return false;
  auto old_plugin = before.plugins.find(old_model->second.plugin);
  auto new_plugin = after.plugins.find(new_model->second.plugin);
  return old_plugin != before.plugins.end() && new_plugin != after.plugins.end() &&
         old_plugin->second == new_plugin->second;
}

}  // namespace citadel::core
