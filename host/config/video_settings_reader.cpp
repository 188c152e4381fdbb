// read_video_settings: the `videos:` block of citadel.yaml.
#include "host/config/video_settings_reader.h"

namespace citadel::config {

const std::vector<std::string> kVideoKeys{"dir", "retention_hours", "max_jobs", "default_fps",
                                          "preview_max_side"};

void read_video_settings(const YamlMapReader& videos, const std::string& base_dir, VideoSettings& out) {
  videos.read_path("dir", base_dir, out.dir);
  videos.read_number("retention_hours", out.retention_hours, 0.0, true, 24.0 * 365);
  videos.read_unsigned("max_jobs", out.max_jobs, 1, 1000000);
  videos.read_unsigned("default_fps", out.default_fps, 1, 240);
  videos.read_unsigned("preview_max_side", out.preview_max_side, 16, 4096);
}

}  // namespace citadel::config
