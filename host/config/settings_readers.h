// Readers of the settings blocks that manifests and models.d files share:
// `cache:` (manifest defaults and per-model overrides), `scheduler:` and
// `inputs:` (models.d only).
// Each overrides only the keys present, so defaults merge key by key.
//
// Called by plugin_manifest_reader and model_file_reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/config/model_config.h"
#include "host/config/yaml_map_reader.h"

namespace citadel::config {

extern const std::vector<std::string> kCacheKeys;
extern const std::vector<std::string> kSchedulerKeys;
extern const std::vector<std::string> kInputKeys;

void read_cache_settings(const YamlMapReader& cache, CacheSettings& inout);
void read_scheduler_settings(const YamlMapReader& scheduler, SchedulerSettings& inout);
void read_input_limits(const YamlMapReader& inputs, InputLimits& inout);

// Reports cache.reserved_mb > cache.size_mb (at the line of whichever of the
// two `cache` sets, else at the line of `cache:` in `parent`).
void check_cache_settings(const YamlMapReader& parent, const std::optional<YamlMapReader>& cache,
                          const CacheSettings& settings);

}  // namespace citadel::config
