// VideoJobManager: the jobs of OpenAI's video API (/v1/videos). A job is an
// ordinary scheduler request of a text-to-video model; its step outputs carry
// one RGB frame each (media/raw_frame_type.h), which a worker thread of the
// manager encodes into the job's MP4 and preview as they arrive (the
// scheduler's sink only queues them). Progress is frames (and chunks) done
// of the frames asked for; the log gets a line per chunk and /metrics
// citadel_video_frames_total, citadel_video_chunk_seconds,
// citadel_video_jobs{status} and citadel_video_jobs_finished_total.
//
// Files live in videos.dir/<id>/ (VideoJobFiles, job.json once finished);
// finished jobs and their files are deleted retention_hours after they
// finish, or oldest first when max_jobs would be passed; a job whose folder
// has a job.json is served again after a restart. Jobs belong to the host,
// not to a model instance: a reload of other models leaves them running, and
// a reload of their own model lets them finish on the draining instance.
//
// Created by core::Host, used by the HTTP endpoints. Thread-safe.
#pragma once

#include "host/config/model_config.h"
#include "host/jobs/video_job.h"
#include "host/metrics/registry.h"
#include "host/sched/request.h"

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace citadel::jobs {

enum class VideoVariant { video, preview, frame };

class VideoJobManager {
 public:
  // `runtime_dir` holds the files when settings.dir is empty. Creates the
  // folder, loads the finished jobs found there, starts the worker.
  VideoJobManager(const config::VideoSettings& settings, const std::string& runtime_dir,
                  sched::RequestRouter& router, metrics::Registry& metrics);
  // Cancels running jobs and stops the worker; their files are removed.
  ~VideoJobManager();
  VideoJobManager(const VideoJobManager&) = delete;
  VideoJobManager& operator=(const VideoJobManager&) = delete;

  // Submits the job's request (the plugin checks the input at once) and
  // returns it queued. Throws VideoJobRefused.
  VideoJobView create(VideoJobSpec spec);
  std::optional<VideoJobView> get(const std::string& id);
  std::vector<VideoJobView> list();  // newest first
  // Cancels a job that is still running, deletes a finished one and its
  // files. False when there is no such job.
  bool remove(const std::string& id);
  // The file of a completed job: nullopt when the job is unknown, not
  // completed, or has no such file (a frame index past the end, PNG frames
  // not kept).
  std::optional<std::filesystem::path> file(const std::string& id, VideoVariant variant, uint32_t index = 0);

  const std::filesystem::path& dir() const { return dir_; }
  uint32_t default_fps() const { return settings_.default_fps; }
  // Deletes finished jobs past their retention (also done by the worker
  // every few seconds and before list/get).
  void sweep_expired();

 private:
  struct Job;
  struct Inbox;
  void worker_loop();
  void handle_event(const std::shared_ptr<Job>& job, const sched::InferenceEvent& event);
  void handle_frame(Job& job, const sched::InferenceEvent& event);
  void finish_job(Job& job, const sched::InferenceEvent& event);
  void close_chunk(Job& job);
  void fail_job(Job& job, std::string code, std::string message);
  void make_room_locked();
  void load_finished_jobs();
  void publish_status_gauges(metrics::Registry& registry);
  std::filesystem::path folder_of(const std::string& id) const { return dir_ / id; }

  config::VideoSettings settings_;
  std::filesystem::path dir_;
  sched::RequestRouter& router_;
  metrics::Registry& metrics_;
  uint64_t collector_id_ = 0;

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;

  std::shared_ptr<Inbox> inbox_;
  std::thread worker_;
};

}  // namespace citadel::jobs
