// What a reload changes: compares the running Configuration with a freshly
// loaded one, model by model, plugin by plugin, and the host settings.
//
// Called by the reload path (host/core) to plan which instances to create,
// replace and destroy; the lists also go into the reload report.
#pragma once

#include <string>
#include <vector>

#include "host/config/model_config.h"

namespace citadel::config {

struct ConfigDiff {
  std::vector<std::string> added;      // model names only in `after`
  std::vector<std::string> removed;    // model names only in `before`
  std::vector<std::string> changed;    // settings or plugin (manifest / library file) differ
  std::vector<std::string> unchanged;
  std::vector<std::string> plugins_changed;  // in both, manifest or library fingerprint differ
  bool host_changed = false;                 // any citadel.yaml setting differs
  // Dotted keys ("admin.socket", "http.listen", "devices", ...) that changed
  // but only take effect after a restart.
  std::vector<std::string> host_changes_needing_restart;

  bool models_changed() const { return !added.empty() || !removed.empty() || !changed.empty(); }
};

ConfigDiff diff(const Configuration& before, const Configuration& after);

}  // namespace citadel::config
