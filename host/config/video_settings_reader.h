// Reads the `videos:` block of citadel.yaml (VideoSettings: the folder of
// video job files, retention, job limit, default fps, preview size).
//
// Called by host_config_reader only.
#pragma once

#include "host/config/model_config.h"
#include "host/config/yaml_map_reader.h"

#include <string>
#include <vector>

namespace citadel::config {

extern const std::vector<std::string> kVideoKeys;

// `base_dir` resolves a relative dir.
void read_video_settings(const YamlMapReader& videos, const std::string& base_dir, VideoSettings& out);

}  // namespace citadel::config
