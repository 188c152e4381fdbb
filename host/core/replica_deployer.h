// ReplicaDeployer: creates the replicas of one configured model for a
// reload — for each, the device (`device: auto` asks the cache manager for
// the pool with the most free memory at that moment, so replicas spread
// over the devices and share one only when there are fewer devices than
// replicas), the plugin instance (on the device's physical device), its cache
// space (in the device's pool) and its ModelScheduler —
// and gathers them into the ReplicaSet the Router serves the name from.
// A resize (only `replicas` changed) keeps the running replicas it can and
// creates only the missing ones.
//
// Used by ReloadCoordinator (host/core) only, under its reload lock.
#pragma once

#include "host/cache/cache_manager.h"
#include "host/config/model_config.h"
#include "host/metrics/registry.h"
#include "host/plugins/plugin_registry.h"
#include "host/sched/device_arbiter.h"
#include "host/sched/replica_set.h"

#include <memory>
#include <string>
#include <vector>

namespace citadel::core {

// A model's new ReplicaSet and the schedulers created for it (to stop when
// the reload fails; kept replicas are not among them).
struct ModelDeployment {
  std::string name;
  std::shared_ptr<sched::ReplicaSet> set;
  std::vector<std::shared_ptr<sched::ModelScheduler>> created;
};

class ReplicaDeployer {
 public:
  ReplicaDeployer(plugins::PluginRegistry& registry, cache::CacheManager& cache,
                  sched::DeviceArbiters& arbiters, metrics::Registry& metrics);

  // Creates model.replicas replicas of generation `generation`; with
  // `resize_from`, replicas 0..min(old, new)-1 are taken from it instead.
  // Throws (the message names the models.d file and field) when one cannot
  // be created; what it had created is stopped first.
  ModelDeployment deploy(const config::ModelConfig& model, const config::Configuration& next,
                         uint64_t generation, const sched::ReplicaSet* resize_from = nullptr);

  // The cache space of replica r of generation g of model m: "m@g<g>" for
  // replica 0, "m@g<g>.r<r>" for the others; old and new spaces of a changed
  // model live side by side while the old drain.
  static std::string space_name(const std::string& model, uint64_t generation, uint32_t replica);

 private:
  // `placed`: the model's replicas created or kept so far (auto spreads over devices).
  sched::Replica create_replica(const config::ModelConfig& model, const config::Configuration& next,
                                uint64_t generation, uint32_t index, const std::vector<sched::Replica>& placed);
  // The pool claims for describe()'s device claims (tensor-parallel ranks'
  // memory), taken after the instance's cache space exists on `device`.
  std::vector<std::shared_ptr<cache::DeviceClaim>> claim_devices(const plugins::PluginModelInstance& instance,
                                                                 const std::string& device,
                                                                 const std::string& space_name);

  plugins::PluginRegistry& registry_;
  cache::CacheManager& cache_;
  sched::DeviceArbiters& arbiters_;
  metrics::Registry& metrics_;
};

// Devices of the running pools that `next` no longer lists (the plain "cpu"
// never is): they keep serving what runs on them until the restart that
// removes them, and take no new replicas.
std::vector<std::string> removed_devices(const cache::CacheManager& cache, const config::HostConfig& next);

// True when `before` and `after` differ in `replicas` only (and the plugin
// they use is unchanged): a reload then resizes instead of replacing.
bool only_replicas_changed(const config::Configuration& before, const config::Configuration& after,
                           const std::string& model);

}  // namespace citadel::core
