// Reads a whole configuration: citadel.yaml, every plugin in plugins_dir (a
// folder with a plugin.yaml manifest, or a bare <name>.so: plugin_discovery.h)
// and every models.d file, validates it strictly and merges manifest defaults
// into each model.
//
// Called by host/core at start-up and by the reload path. Touches no running
// state (a bare library is only opened, as a private copy, to read its name
// and version): on any problem it throws ConfigError listing all of them.
#pragma once

#include <string>

#include "host/config/config_error.h"
#include "host/config/model_config.h"
#include "host/config/plugin_discovery.h"

namespace citadel::config {

// `host_config_path` may be relative (to the current folder). Relative paths
// inside each file resolve against that file's folder. Bare plugin libraries
// are read with `read_identity` (skipped, with a warning, when it is empty).
// Throws ConfigError.
Configuration load_configuration(const std::string& host_config_path,
                                 const PluginIdentityReader& read_identity = {});

}  // namespace citadel::config
