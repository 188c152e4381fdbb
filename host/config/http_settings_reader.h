// Reads the `http:` block of citadel.yaml: the listen address, the limits
// (connections, timeouts, header and body sizes, requests per connection)
// and `api_keys:` (whose keys file or environment variable is read and
// checked here, so a bad key line fails the load or reload like any other
// configuration problem).
//
// Called by host_config_reader only.
#pragma once

#include <string>
#include <vector>

#include "host/config/model_config.h"
#include "host/config/yaml_map_reader.h"

namespace citadel::config {

extern const std::vector<std::string> kHttpKeys;

// `base_dir` resolves a relative api_keys.file.
void read_http_settings(const YamlMapReader& http, const std::string& base_dir, HttpSettings& out);

}  // namespace citadel::config
