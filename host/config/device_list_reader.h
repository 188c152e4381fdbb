// Reads citadel.yaml `devices`: plain physical devices ("cpu", "cuda:1") and
// logical devices ({name, device, pool_mb}: a pool of its own on a physical
// device, several of which may share one GPU or the CPU). Reports malformed
// entries, unknown physical devices and duplicate names with their line;
// whether sizes fit the hardware is checked by cache::CacheManager at start.
//
// Called by host_config_reader only.
#pragma once

#include <vector>

#include "host/config/model_config.h"
#include "host/config/yaml_map_reader.h"

namespace citadel::config {

void read_device_list(const YamlMapReader& root, std::vector<DeviceSpec>& out);

// True for names a device entry may have: [A-Za-z0-9][A-Za-z0-9._:/-]{0,63},
// not "auto".
bool is_valid_device_name(const std::string& name);

// "cpu" or "cuda:N" ("cuda" is cuda:0): the physical device, normalized;
// empty for anything else.
std::string physical_device_name(const std::string& text);

}  // namespace citadel::config
