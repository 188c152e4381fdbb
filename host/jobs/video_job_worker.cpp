// VideoJobManager's worker thread: frames into files, progress, chunk
// timing, the end of a job, and the periodic retention sweep.
#include "host/jobs/video_job_manager.h"

#include "host/jobs/video_job_record.h"
#include "host/jobs/video_job_state.h"
#include "host/media/raw_frame_type.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace citadel::jobs {

namespace {

std::vector<double> chunk_buckets() { return {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}; }

}  // namespace

void VideoJobManager::worker_loop() {
  // Sweep often enough that a short retention is honoured within a quarter of it.
  const double retention_s = settings_.retention_hours * 3600.0;
  const auto sweep_every = std::chrono::milliseconds(
      static_cast<int64_t>(std::clamp(retention_s / 4.0, 0.2, 30.0) * 1000.0));
  auto last_sweep = std::chrono::steady_clock::now();
  for (;;) {
    std::deque<std::pair<std::shared_ptr<Job>, sched::InferenceEvent>> events;
    {
      std::unique_lock lock(inbox_->mutex);
      inbox_->wake.wait_for(lock, sweep_every, [&] { return inbox_->stopping || !inbox_->events.empty(); });
      if (inbox_->stopping) return;
      events.swap(inbox_->events);
    }
    for (auto& [job, event] : events) {
      try {
        handle_event(job, event);
      } catch (const std::exception& e) {
        spdlog::error("video job {}: {}", job->view.id, e.what());
      }
    }
    if (std::chrono::steady_clock::now() - last_sweep >= sweep_every) {
      sweep_expired();
      last_sweep = std::chrono::steady_clock::now();
    }
  }
}

void VideoJobManager::handle_event(const std::shared_ptr<Job>& job, const sched::InferenceEvent& event) {
  bool deleted = false;
  {
    std::lock_guard lock(mutex_);
    deleted = job->deleted;
    if (deleted && event.final) job->finished = true;
  }
  if (deleted) {
    if (event.final) {
      job->files.reset();
      std::error_code error;
      std::filesystem::remove_all(folder_of(job->view.id), error);
    }
    return;
  }
  if (!event.data.empty() && !job->failed_locally) handle_frame(*job, event);
  if (event.final) finish_job(*job, event);
}

void VideoJobManager::handle_frame(Job& job, const sched::InferenceEvent& event) {
  const VideoJobSpec& spec = job.view.spec;
  const std::optional<media::RawFrameType> type = media::parse_raw_frame_type(event.data_type);
  const media::RawFrameType expected{spec.width, spec.height, std::nullopt};
  if (!type || type->width != spec.width || type->height != spec.height ||
      event.data.size() != size_t(spec.width) * spec.height * 3) {
    fail_job(job, "bad_frame",
             "model " + spec.model + " sent a frame of type '" + event.data_type + "' and " +
                 std::to_string(event.data.size()) + " bytes; expected " + media::format_raw_frame_type(expected));
    return;
  }
  if (job.view.frames_done >= spec.frames) {
    fail_job(job, "too_many_frames", "model " + spec.model + " sent more than the " + std::to_string(spec.frames) +
                                         " frames asked for");
    return;
  }
  try {
    if (!job.files)
      job.files = std::make_unique<VideoJobFiles>(VideoJobFileNames{folder_of(job.view.id)}, spec.width, spec.height,
                                                  spec.fps, spec.png_frames, settings_.preview_max_side);
    job.files->add_frame(event.data.data());
  } catch (const std::exception& e) {
    fail_job(job, "media_error", e.what());
    return;
  }
  const uint32_t chunk = type->chunk.value_or(job.view.frames_done);
  if (job.current_chunk && *job.current_chunk != chunk) close_chunk(job);
  job.current_chunk = chunk;
  job.last_frame_at = Job::Clock::now();
  {
    std::lock_guard lock(mutex_);
    ++job.view.frames_done;
    job.view.status = VideoJobStatus::in_progress;
  }
  metrics_.counter("citadel_video_frames_total", "Frames generated for video jobs", {{"model", spec.model}}).add();
}

void VideoJobManager::close_chunk(Job& job) {
  const double seconds = std::chrono::duration<double>(job.last_frame_at - job.chunk_begin).count();
  job.chunk_begin = job.last_frame_at;
  uint32_t chunks = 0, frames = 0;
  {
    std::lock_guard lock(mutex_);
    chunks = ++job.view.chunks_done;
    frames = job.view.frames_done;
  }
  job.current_chunk.reset();
  metrics_.histogram("citadel_video_chunk_seconds", "Seconds from one finished chunk of a video job to the next",
                     chunk_buckets(), {{"model", job.view.spec.model}})
      .observe(seconds);
  spdlog::info("video job {}: chunk {} done in {:.3f} s, frames {}/{}", job.view.id, chunks, seconds, frames,
               job.view.spec.frames);
}

void VideoJobManager::fail_job(Job& job, std::string code, std::string message) {
  spdlog::warn("video job {}: failed: {}: {}", job.view.id, code, message);
  job.failed_locally = true;
  job.files.reset();
  std::error_code error;
  std::filesystem::remove_all(folder_of(job.view.id), error);
  std::shared_ptr<sched::RequestHandle> handle;
  {
    std::lock_guard lock(mutex_);
    job.view.status = VideoJobStatus::failed;
    job.view.error_code = std::move(code);
    job.view.error_message = std::move(message);
    handle = job.handle;
  }
  if (handle) handle->cancel();  // its final event still comes and ends the job
}

void VideoJobManager::finish_job(Job& job, const sched::InferenceEvent& event) {
  if (!job.failed_locally) {
    const sched::FinishReason reason = event.finish_reason;
    if (reason == sched::FinishReason::error) {
      fail_job(job, event.error_code.empty() ? "model_error" : event.error_code, event.error_message);
    } else if (reason == sched::FinishReason::cancelled) {
      fail_job(job, "cancelled", "the request was cancelled (deadline or host shutdown)");
    } else if (job.view.frames_done == 0) {
      fail_job(job, "no_frames", "model " + job.view.spec.model + " finished without sending a frame");
    } else {
      if (job.current_chunk) close_chunk(job);
      try {
        job.files->finish();
      } catch (const std::exception& e) {
        fail_job(job, "media_error", e.what());
      }
      job.files.reset();
    }
  }
  // job.json first, then the job shows as finished: a DELETE that follows
  // the status change must find every file in place to remove.
  const int64_t now = unix_now();
  VideoJobView record;
  {
    std::lock_guard lock(mutex_);
    record = job.view;
  }
  if (!job.failed_locally) record.status = VideoJobStatus::completed;
  record.completed_at = now;
  record.expires_at = now + static_cast<int64_t>(std::ceil(settings_.retention_hours * 3600.0));
  try {
    std::filesystem::create_directories(folder_of(record.id));
    write_job_record(folder_of(record.id) / "job.json", record);
  } catch (const std::exception& e) {
    spdlog::warn("video job {}: cannot write job.json: {}", record.id, e.what());
  }
  bool deleted = false;
  {
    std::lock_guard lock(mutex_);
    job.view = record;
    job.finished = true;
    deleted = job.deleted;
  }
  if (deleted) {  // deleted while its files were being finished
    std::error_code error;
    std::filesystem::remove_all(folder_of(record.id), error);
    return;
  }
  metrics_
      .counter("citadel_video_jobs_finished_total", "Video jobs finished, by outcome",
               {{"model", record.spec.model}, {"outcome", to_string(record.status)}})
      .add();
  if (record.status == VideoJobStatus::completed) {
    if (record.frames_done < record.spec.frames)
      spdlog::warn("video job {}: model {} sent {} of {} frames", record.id, record.spec.model, record.frames_done,
                   record.spec.frames);
    spdlog::info("video job {}: completed, {} frames in {} chunk(s)", record.id, record.frames_done,
                 record.chunks_done);
  }
}

}  // namespace citadel::jobs
