// VideoJobFiles: the files of one video job in its folder <dir>/<id>/:
// video.mp4 (H.264) and preview.webp (or .gif), written frame by frame as
// the frames arrive (under .part names until finish()), and with
// png_frames, frames/000000.png ... Also the names a completed job's files
// have, for the content endpoint.
//
// Used by VideoJobManager's worker thread only (one thread per object).
// Errors are media::MediaError naming the file.
#pragma once

#include "host/media/video_file_writer.h"

#include <cstdint>
#include <filesystem>
#include <memory>

namespace citadel::jobs {

struct VideoJobFileNames {
  std::filesystem::path folder;
  std::filesystem::path video() const { return folder / "video.mp4"; }
  std::filesystem::path preview() const;  // preview.webp or preview.gif
  std::filesystem::path frame(uint32_t index) const;  // frames/000042.png
};

class VideoJobFiles {
 public:
  // Creates the folder and opens the writers.
  VideoJobFiles(VideoJobFileNames names, uint32_t width, uint32_t height, uint32_t fps, bool png_frames,
                uint32_t preview_max_side);
  ~VideoJobFiles();

  void add_frame(const uint8_t* rgb);  // width * height * 3 bytes
  // Flushes the encoders and gives the files their final names.
  void finish();

 private:
  VideoJobFileNames names_;
  uint32_t width_, height_;
  bool png_frames_;
  uint32_t frames_ = 0;
  std::unique_ptr<media::VideoFileWriter> video_;
  std::unique_ptr<media::VideoFileWriter> preview_;
};

}  // namespace citadel::jobs
