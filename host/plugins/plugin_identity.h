// Reads what a bare plugin library (<plugins_dir>/<file>.so, no manifest)
// says about itself — plugin_name and plugin_version of its entry table — by
// loading a private copy of it (under <runtime_dir>/plugin-probes/, so the
// file in plugins_dir is never the one opened) with the same checks as a
// real load (entry symbol, ABI major version, complete operation table), and
// closing it again. Results are kept per file fingerprint, so an unchanged
// library is opened once per process, not at every reload.
//
// Called by host/core through config::load_configuration at start and reload.
// Thread-safe.
#pragma once

#include "host/config/plugin_discovery.h"

#include <string>

namespace citadel::plugins {

// Throws PluginLoadError (a std::runtime_error) naming the file and why it
// is not a usable plugin.
config::PluginIdentity read_plugin_identity(const std::string& library, const std::string& runtime_dir);

// read_plugin_identity as the reader load_configuration takes.
config::PluginIdentityReader plugin_identity_reader();

}  // namespace citadel::plugins
