// VideoFileWriter in a build without FFmpeg (CITADEL_VIDEO_FILES=OFF): every
// writer fails at construction with a MediaError saying so, so a video job
// on such a host ends failed with that message and the host keeps serving.
// The specs are computed as in the FFmpeg build (MP4 H.264, GIF preview).
#include "host/media/video_file_writer.h"

#include <algorithm>

namespace citadel::media {

struct VideoFileWriter::State {
  std::filesystem::path path;
};

VideoFileWriter::VideoFileWriter(const std::filesystem::path& path, const VideoFileSpec& spec) {
  throw MediaError(path.string() + ": cannot write " + spec.container +
                   " files: this citadel was built without FFmpeg (CITADEL_VIDEO_FILES=OFF); "
                   "install FFmpeg's libraries (scripts/install-deps.sh) and rebuild");
}

VideoFileWriter::~VideoFileWriter() = default;
void VideoFileWriter::write_frame(const uint8_t*) {}
void VideoFileWriter::finish() {}
uint64_t VideoFileWriter::frames_written() const { return 0; }
const std::filesystem::path& VideoFileWriter::path() const { return state_->path; }

VideoFileSpec mp4_spec(uint32_t width, uint32_t height, uint32_t fps) {
  VideoFileSpec spec;
  spec.container = "mp4";
  spec.encoder = "libx264";
  spec.width = width;
  spec.height = height;
  spec.fps = fps;
  return spec;
}

VideoFileSpec preview_spec(uint32_t width, uint32_t height, uint32_t fps, uint32_t max_side) {
  VideoFileSpec spec;
  spec.container = "gif";
  spec.encoder = "gif";
  spec.width = width;
  spec.height = height;
  spec.fps = fps;
  const uint32_t longest = std::max(width, height);
  const double scale = longest > max_side ? static_cast<double>(max_side) / longest : 1.0;
  spec.out_width = std::max<uint32_t>(2, static_cast<uint32_t>(width * scale) & ~1u);
  spec.out_height = std::max<uint32_t>(2, static_cast<uint32_t>(height * scale) & ~1u);
  return spec;
}

std::string preview_extension() { return "gif"; }
std::string preview_content_type() { return "image/gif"; }

}  // namespace citadel::media
