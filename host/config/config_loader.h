// Reads a whole configuration: citadel.yaml, every plugin manifest
// (<plugins_dir>/<plugin>/plugin.yaml) and every models.d file, validates it
// strictly and merges manifest defaults into each model.
//
// Called by main at start-up and by the reload path (host/core). Touches no
// running state: on any problem it throws ConfigError listing all of them.
#pragma once

#include <string>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// `host_config_path` may be relative (to the current folder). Relative paths
// inside each file resolve against that file's folder. Throws ConfigError.
Configuration load_configuration(const std::string& host_config_path);

}  // namespace citadel::config
