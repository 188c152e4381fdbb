// HostContext (the host side of citadel_host_context): what the host services
// of plugin.h need to know about one model instance — its name for logs and
// metric labels, its device and stream, and its cache space for block
// addresses — plus host_api(), the service table handed to every plugin.
//
// Created by PluginRegistry::create_instance, owned by the ModelInstance;
// read from any thread by the services a plugin calls.
#pragma once

#include <citadel/plugin.h>

#include "host/cache/cache_space.h"
#include "host/common/device_name.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace citadel::metrics {
class Registry;
}

struct citadel_host_context {
  // Binds the device: on CUDA (in CUDA builds) creates the instance's stream.
  // Throws std::runtime_error naming the model when that fails.
  citadel_host_context(std::string model_name, citadel::common::DeviceName device,
                       citadel::metrics::Registry* metrics);
  ~citadel_host_context();
  citadel_host_context(const citadel_host_context&) = delete;
  citadel_host_context& operator=(const citadel_host_context&) = delete;

  void attach_cache_space(std::shared_ptr<citadel::cache::CacheSpace> space);
  std::shared_ptr<citadel::cache::CacheSpace> cache_space() const;
  citadel::cache::CacheSpace* cache_space_fast() const { return space_raw_.load(); }

  const std::string model;
  const citadel::common::DeviceName device;
  citadel::metrics::Registry* const metrics;  // may be null (no metrics)
  citadel_device_info device_info{};

 private:
  mutable std::mutex space_mutex_;
  std::shared_ptr<citadel::cache::CacheSpace> space_;
  std::atomic<citadel::cache::CacheSpace*> space_raw_{nullptr};
};

namespace citadel::plugins {

using HostContext = citadel_host_context;

// The host's service table (static storage, valid for the whole process).
const citadel_host_api* host_api();

}  // namespace citadel::plugins
