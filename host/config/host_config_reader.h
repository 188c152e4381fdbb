// Reads citadel.yaml (the host settings) from a parsed YAML document,
// applying defaults and reporting every problem.
//
// Called by config_loader only.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// `file` is the absolute path of citadel.yaml; relative paths resolve
// against its folder. Problems are appended; the result holds what was valid.
HostConfig read_host_config(const YAML::Node& root, const std::string& file,
                            std::vector<ConfigProblem>& problems);

// $XDG_RUNTIME_DIR/citadel-<pid>, else /tmp/citadel-<uid>-<pid>.
std::string default_runtime_dir();

}  // namespace citadel::config
