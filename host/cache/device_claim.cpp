// DeviceClaim: gives its bytes back to the pool when destroyed.
#include "host/cache/device_claim.h"

#include "host/cache/device_pool.h"

namespace citadel::cache {

DeviceClaim::DeviceClaim(std::shared_ptr<DevicePool> pool, uint64_t id, std::string model, uint64_t bytes)
    : pool_(std::move(pool)), id_(id), model_(std::move(model)), bytes_(bytes) {}

DeviceClaim::~DeviceClaim() { pool_->release_claim(id_); }

const std::string& DeviceClaim::device() const { return pool_->device(); }

}  // namespace citadel::cache
