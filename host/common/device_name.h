// DeviceName: a parsed, resolved device string ("cpu", "cuda:0") as the cache
// manager hands it out ("auto" is resolved by cache::CacheManager first).
//
// Called by host/plugins (the device an instance and its stream are bound
// to) and host/core.
#pragma once

#include <citadel/plugin.h>

#include <string>

namespace citadel::common {

struct DeviceName {
  citadel_device_kind kind = CITADEL_DEVICE_CPU;
  int ordinal = -1;  // CUDA ordinal; -1 for the CPU

  // "cpu", "cuda:N" ("cuda" alone means cuda:0). Throws std::invalid_argument
  // naming the text for anything else, "auto" included.
  static DeviceName parse(const std::string& text);
  std::string to_string() const;
  bool operator==(const DeviceName&) const = default;
};

}  // namespace citadel::common
