// DeviceClaim: device memory a model instance keeps on a pool's device
// outside its cache blocks (plugin.h citadel_device_claim: tensor-parallel
// ranks' weights and their shares of the blocks). While the claim lives its
// bytes are off the pool's budget, like a space's weight_bytes; destroying it
// gives them back.
//
// Created by DevicePool::claim (through CacheManager::claim); held by the
// model instance (plugins::PluginModelInstance), released after the plugin
// has destroyed it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace citadel::cache {

class DevicePool;

class DeviceClaim {
 public:
  DeviceClaim(std::shared_ptr<DevicePool> pool, uint64_t id, std::string model, uint64_t bytes);
  ~DeviceClaim();
  DeviceClaim(const DeviceClaim&) = delete;
  DeviceClaim& operator=(const DeviceClaim&) = delete;

  const std::string& model() const { return model_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& device() const;  // the pool's device name

 private:
  std::shared_ptr<DevicePool> pool_;
  uint64_t id_;
  std::string model_;
  uint64_t bytes_;
};

}  // namespace citadel::cache
