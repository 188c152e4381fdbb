// The private parts of VideoJobManager shared by its two source files
// (video_job_manager.cpp: the API; video_job_worker.cpp: the worker thread):
// one job's record and the inbox the scheduler's sinks post events to.
//
// Included by host/jobs/*.cpp only.
#pragma once

#include "host/jobs/video_job_files.h"
#include "host/jobs/video_job_manager.h"

#include <chrono>
#include <deque>
#include <utility>

namespace citadel::jobs {

struct VideoJobManager::Job {
  using Clock = std::chrono::steady_clock;
  // Under the manager's mutex_.
  VideoJobView view;
  std::shared_ptr<sched::RequestHandle> handle;
  bool deleted = false;   // removed from jobs_; the worker discards its files
  bool finished = false;  // the final event was handled (or loaded from disk)
  // The worker thread's only.
  std::unique_ptr<VideoJobFiles> files;
  bool failed_locally = false;  // a bad frame or a file error failed it
  std::optional<uint32_t> current_chunk;
  Clock::time_point chunk_begin;    // the end of the previous chunk (or the submission)
  Clock::time_point last_frame_at;
};

struct VideoJobManager::Inbox {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::shared_ptr<Job>, sched::InferenceEvent>> events;
  bool stopping = false;
};

// Seconds since the Unix epoch.
int64_t unix_now();

}  // namespace citadel::jobs
