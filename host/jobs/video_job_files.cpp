// VideoJobFiles: MP4, preview and PNG frames of one job.
#include "host/jobs/video_job_files.h"

#include "host/media/png_frame.h"

#include <cstdio>

namespace citadel::jobs {

namespace {
std::filesystem::path part(const std::filesystem::path& path) { return path.string() + ".part"; }
}  // namespace

std::filesystem::path VideoJobFileNames::preview() const {
  return folder / ("preview." + media::preview_extension());
}

std::filesystem::path VideoJobFileNames::frame(uint32_t index) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%06u.png", index);
  return folder / "frames" / name;
}

VideoJobFiles::VideoJobFiles(VideoJobFileNames names, uint32_t width, uint32_t height, uint32_t fps,
                             bool png_frames, uint32_t preview_max_side)
    : names_(std::move(names)), width_(width), height_(height), png_frames_(png_frames) {
  std::error_code error;
  std::filesystem::create_directories(png_frames ? names_.folder / "frames" : names_.folder, error);
  if (error) throw media::MediaError(names_.folder.string() + ": cannot create the folder: " + error.message());
  media::VideoFileSpec video = media::mp4_spec(width, height, fps);
  // The container is named explicitly: the .part suffix hides the extension.
  video_ = std::make_unique<media::VideoFileWriter>(part(names_.video()), video);
  preview_ = std::make_unique<media::VideoFileWriter>(part(names_.preview()),
                                                      media::preview_spec(width, height, fps, preview_max_side));
}

VideoJobFiles::~VideoJobFiles() = default;

void VideoJobFiles::add_frame(const uint8_t* rgb) {
  video_->write_frame(rgb);
  preview_->write_frame(rgb);
  if (png_frames_) media::write_png(names_.frame(frames_), rgb, width_, height_);
  ++frames_;
}

void VideoJobFiles::finish() {
  video_->finish();
  preview_->finish();
  for (const std::filesystem::path& path : {names_.video(), names_.preview()}) {
    std::error_code error;
    std::filesystem::rename(part(path), path, error);
    if (error) throw media::MediaError(path.string() + ": cannot rename from .part: " + error.message());
  }
}

}  // namespace citadel::jobs
