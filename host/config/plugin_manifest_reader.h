// Reads one plugin manifest (<plugins_dir>/<plugin>/plugin.yaml): name,
// version, library (default <name>.so beside the manifest, which must exist),
// description and the defaults (cache, options) its models start from.
//
// Called by config_loader only.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// `file` is the manifest's absolute path; its folder's name is the plugin's
// name. Problems are appended; the library's fingerprint is filled in.
PluginManifest read_plugin_manifest(const YAML::Node& root, const std::string& file,
                                    std::vector<ConfigProblem>& problems);

}  // namespace citadel::config
