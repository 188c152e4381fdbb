// VideoFileWriter: encodes RGB frames (uint8, HWC) into a video file with
// FFmpeg's libraries as they arrive, one frame at a time: the MP4 of a video
// job (H.264 via libx264, yuv420p, the job's fps, +faststart) and its
// animated preview (WebP via libwebp_anim, or GIF when that encoder is
// absent; scaled down, looping). Frames are converted (and scaled) with
// libswscale into the encoder's pixel format.
//
// Used by host/jobs (VideoJobManager's encoding thread) and the [media]
// tests. One thread at a time per writer. Errors are MediaError naming the
// file and the FFmpeg call with FFmpeg's message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace citadel::media {

class MediaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct VideoFileSpec {
  std::string container;         // libavformat muxer: "mp4", "webp", "gif"
  std::string encoder;           // libavcodec encoder: "libx264", "libwebp_anim", "gif"
  uint32_t width = 0, height = 0;          // of the frames given to write_frame
  uint32_t out_width = 0, out_height = 0;  // of the file (0: same as the frames)
  uint32_t fps = 16;
  std::string codec_options;  // "key=value:key=value" private options of the encoder
  std::string muxer_options;  // same, for the muxer
};

class VideoFileWriter {
 public:
  // Opens the file and writes its header. Throws MediaError (unknown
  // encoder or muxer, odd size for yuv420p, file not writable).
  VideoFileWriter(const std::filesystem::path& path, const VideoFileSpec& spec);
  ~VideoFileWriter();  // closes without a trailer if finish() was not called
  VideoFileWriter(const VideoFileWriter&) = delete;
  VideoFileWriter& operator=(const VideoFileWriter&) = delete;

  // `rgb` holds width * height * 3 bytes.
  void write_frame(const uint8_t* rgb);
  // Flushes the encoder and writes the trailer; the file is complete after.
  void finish();

  uint64_t frames_written() const;
  const std::filesystem::path& path() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The MP4 of a job: H.264 (libx264, crf 18, veryfast) in yuv420p.
VideoFileSpec mp4_spec(uint32_t width, uint32_t height, uint32_t fps);
// The preview: animated WebP (or GIF where libavcodec has no libwebp_anim),
// longest side at most `max_side`, even sizes kept, infinite loop.
VideoFileSpec preview_spec(uint32_t width, uint32_t height, uint32_t fps, uint32_t max_side = 256);
// The preview's file extension and MIME type for preview_spec's choice.
std::string preview_extension();
std::string preview_content_type();

}  // namespace citadel::media
