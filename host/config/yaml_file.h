// Loads one YAML file for the config readers, turning a missing file, bytes
// that are not UTF-8 or a syntax error into a ConfigProblem ("file:line:
// YAML syntax error ...").
//
// Called by config_loader for citadel.yaml, manifests and models.d files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"

namespace citadel::config {

// The document, or nullopt after appending a problem.
std::optional<YAML::Node> load_yaml_file(const std::string& path, std::vector<ConfigProblem>& problems);

}  // namespace citadel::config
