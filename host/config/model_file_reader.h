// Reads one models.d file into a ModelConfig: starts from its plugin's
// manifest defaults, then applies the file's settings (options merged key by
// key, nested maps too). Reports every problem in the file.
//
// Called by config_loader only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// What the loader knows about each plugin folder: its manifest, or nullptr
// when the folder has a plugin.yaml that could not be read (its problems are
// reported once, by the manifest).
using PluginLookup = std::map<std::string, const PluginManifest*>;

struct ModelFileResult {
  ModelConfig model;
  int name_line = 0;    // where the name was set (for duplicate-name problems)
  int device_line = 0;  // where `device` was set (for devices citadel.yaml lacks)
};

ModelFileResult read_model_file(const YAML::Node& root, const std::string& file,
                                const PluginLookup& plugins, const std::string& plugins_dir,
                                std::vector<ConfigProblem>& problems);

// True for names matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
bool is_valid_model_name(const std::string& name);

}  // namespace citadel::config
