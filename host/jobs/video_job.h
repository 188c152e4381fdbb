// What a video job is, as the job manager keeps it and the HTTP layer shows
// it: the request (VideoJobSpec, validated by host/http before it gets
// here), its status and progress (VideoJobView, a copy taken under the
// manager's lock), and the refusal thrown when a job cannot be created.
//
// Used by host/jobs (VideoJobManager) and host/http (video job endpoints).
#pragma once

#include "host/sched/request.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace citadel::jobs {

// A job to create. input_json is the plugin's native input (text-to-video
// schema, docs/plugin-authoring.md): {"prompt", "frames", "width",
// "height", "fps", "seed"?, ...}.
struct VideoJobSpec {
  std::string model;
  std::string prompt;
  uint32_t width = 0, height = 0;
  uint32_t frames = 0;  // the plugin emits exactly this many
  uint32_t fps = 16;
  std::string seconds;  // as the client gave it ("" when it gave frames)
  bool png_frames = false;  // keep every frame as a PNG too
  std::string input_json;
};

// OpenAI's statuses.
enum class VideoJobStatus { queued, in_progress, completed, failed };
const char* to_string(VideoJobStatus status);

struct VideoJobView {
  std::string id;  // "video_<hex>"
  VideoJobSpec spec;
  VideoJobStatus status = VideoJobStatus::queued;
  uint32_t frames_done = 0;
  uint32_t chunks_done = 0;
  int64_t created_at = 0;  // Unix seconds
  std::optional<int64_t> completed_at;
  std::optional<int64_t> expires_at;
  std::string error_code;  // failed: "plugin status", "media_error", "incomplete", ...
  std::string error_message;

  // 0..100: frames_done / frames, 100 once completed.
  uint32_t progress_percent() const;
};

// Thrown by VideoJobManager::create when the job cannot start: the
// scheduler's refusal (unknown model, invalid input, queue full, ...) or
// too many jobs kept (queue_full).
class VideoJobRefused : public std::runtime_error {
 public:
  explicit VideoJobRefused(sched::Rejection rejection)
      : std::runtime_error(rejection.message), rejection_(std::move(rejection)) {}
  const sched::Rejection& rejection() const { return rejection_; }

 private:
  sched::Rejection rejection_;
};

}  // namespace citadel::jobs
