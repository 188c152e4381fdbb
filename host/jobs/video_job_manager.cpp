// VideoJobManager: creating, listing, deleting and serving jobs; retention.
#include "host/jobs/video_job_manager.h"

#include "host/jobs/video_job_record.h"
#include "host/jobs/video_job_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace citadel::jobs {

namespace {

std::string new_job_id() {
  static std::mutex mutex;
  static std::mt19937_64 random(std::random_device{}());
  std::lock_guard lock(mutex);
  char id[32];
  std::snprintf(id, sizeof(id), "video_%016llx", static_cast<unsigned long long>(random()));
  return id;
}

void remove_folder(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::remove_all(folder, error);
  if (error) spdlog::warn("video jobs: cannot delete {}: {}", folder.string(), error.message());
}

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* to_string(VideoJobStatus status) {
  switch (status) {
    case VideoJobStatus::queued: return "queued";
    case VideoJobStatus::in_progress: return "in_progress";
    case VideoJobStatus::completed: return "completed";
    case VideoJobStatus::failed: return "failed";
  }
  return "failed";
}

uint32_t VideoJobView::progress_percent() const {
  if (status == VideoJobStatus::completed) return 100;
  if (spec.frames == 0) return 0;
  return std::min<uint32_t>(99, static_cast<uint32_t>(uint64_t(frames_done) * 100 / spec.frames));
}

VideoJobManager::VideoJobManager(const config::VideoSettings& settings, const std::string& runtime_dir,
                                 sched::RequestRouter& router, metrics::Registry& metrics)
    : settings_(settings),
      dir_(settings.dir.empty() ? std::filesystem::path(runtime_dir) / "videos" : std::filesystem::path(settings.dir)),
      router_(router),
      metrics_(metrics),
      inbox_(std::make_shared<Inbox>()) {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) throw std::runtime_error("videos.dir: cannot create " + dir_.string() + ": " + error.message());
  load_finished_jobs();
  collector_id_ = metrics_.add_collector([this](metrics::Registry& registry) { publish_status_gauges(registry); });
  worker_ = std::thread([this] { worker_loop(); });
}

VideoJobManager::~VideoJobManager() {
  metrics_.remove_collector(collector_id_);
  std::vector<std::shared_ptr<Job>> running;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, job] : jobs_)
      if (!job->finished) running.push_back(job);
  }
  for (const auto& job : running)
    if (job->handle) job->handle->cancel();
  {
    std::lock_guard lock(inbox_->mutex);
    inbox_->stopping = true;
  }
  inbox_->wake.notify_all();
  if (worker_.joinable()) worker_.join();
  for (const auto& job : running) {
    job->files.reset();
    remove_folder(folder_of(job->view.id));
  }
}

void VideoJobManager::load_finished_jobs() {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with("video_")) continue;
    std::optional<VideoJobView> view = read_job_record(entry.path() / "job.json");
    if (!view || view->id != name) {
      // A job the host was running when it stopped: its files are partial.
      remove_folder(entry.path());
      continue;
    }
    auto job = std::make_shared<Job>();
    job->view = std::move(*view);
    job->finished = true;
    jobs_[name] = std::move(job);
  }
  if (!jobs_.empty()) spdlog::info("video jobs: {} finished job(s) found in {}", jobs_.size(), dir_.string());
}

void VideoJobManager::make_room_locked() {
  while (jobs_.size() >= settings_.max_jobs) {
    std::shared_ptr<Job> oldest;
    for (const auto& [id, job] : jobs_)
      if (job->finished && (!oldest || job->view.created_at < oldest->view.created_at)) oldest = job;
    if (!oldest)
      throw VideoJobRefused({sched::RejectReason::queue_full,
                             "videos.max_jobs (" + std::to_string(settings_.max_jobs) +
                                 ") jobs are running; try again when one has finished",
                             5});
    jobs_.erase(oldest->view.id);
    remove_folder(folder_of(oldest->view.id));
  }
}

VideoJobView VideoJobManager::create(VideoJobSpec spec) {
  sweep_expired();
  auto job = std::make_shared<Job>();
  job->view.id = new_job_id();
  job->view.created_at = unix_now();
  job->chunk_begin = Job::Clock::now();
  {
    std::lock_guard lock(mutex_);
    make_room_locked();
    job->view.spec = spec;
    jobs_[job->view.id] = job;
  }
  sched::InferenceRequest request;
  request.model = spec.model;
  request.input_json = spec.input_json;
  std::weak_ptr<Inbox> weak_inbox = inbox_;
  sched::Submission submission = router_.submit(std::move(request), [weak_inbox, job](const sched::InferenceEvent& event) {
    auto inbox = weak_inbox.lock();
    if (!inbox) return;
    {
      std::lock_guard lock(inbox->mutex);
      inbox->events.emplace_back(job, event);
    }
    inbox->wake.notify_one();
  });
  std::lock_guard lock(mutex_);
  if (!submission) {
    jobs_.erase(job->view.id);
    throw VideoJobRefused(submission.rejection);
  }
  job->handle = submission.handle;
  spdlog::info("video job {}: queued on model {} ({}x{}, {} frames at {} fps)", job->view.id, spec.model, spec.width,
               spec.height, spec.frames, spec.fps);
  return job->view;
}

std::optional<VideoJobView> VideoJobManager::get(const std::string& id) {
  sweep_expired();
  std::lock_guard lock(mutex_);
  auto found = jobs_.find(id);
  if (found == jobs_.end()) return std::nullopt;
  return found->second->view;
}

std::vector<VideoJobView> VideoJobManager::list() {
  sweep_expired();
  std::vector<VideoJobView> views;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, job] : jobs_) views.push_back(job->view);
  }
  std::stable_sort(views.begin(), views.end(), [](const VideoJobView& a, const VideoJobView& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  return views;
}

bool VideoJobManager::remove(const std::string& id) {
  std::shared_ptr<Job> job;
  bool finished = false;
  {
    std::lock_guard lock(mutex_);
    auto found = jobs_.find(id);
    if (found == jobs_.end()) return false;
    job = found->second;
    jobs_.erase(found);
    job->deleted = true;
    finished = job->finished;
  }
  if (finished) {
    remove_folder(folder_of(id));
    spdlog::info("video job {}: deleted", id);
  } else {
    if (job->handle) job->handle->cancel();  // the worker deletes its files at the final event
    spdlog::info("video job {}: cancelled and deleted", id);
  }
  return true;
}

std::optional<std::filesystem::path> VideoJobManager::file(const std::string& id, VideoVariant variant,
                                                           uint32_t index) {
  std::lock_guard lock(mutex_);
  auto found = jobs_.find(id);
  if (found == jobs_.end() || found->second->view.status != VideoJobStatus::completed) return std::nullopt;
  const VideoJobView& view = found->second->view;
  const VideoJobFileNames names{folder_of(id)};
  std::filesystem::path path;
  switch (variant) {
    case VideoVariant::video: path = names.video(); break;
    case VideoVariant::preview: path = names.preview(); break;
    case VideoVariant::frame:
      if (!view.spec.png_frames || index >= view.frames_done) return std::nullopt;
      path = names.frame(index);
      break;
  }
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path;
}

void VideoJobManager::sweep_expired() {
  const int64_t now = unix_now();
  std::vector<std::string> expired;
  {
    std::lock_guard lock(mutex_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      const VideoJobView& view = it->second->view;
      if (it->second->finished && view.expires_at && *view.expires_at <= now) {
        expired.push_back(it->first);
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::string& id : expired) {
    remove_folder(folder_of(id));
    spdlog::info("video job {}: deleted after videos.retention_hours", id);
  }
}

void VideoJobManager::publish_status_gauges(metrics::Registry& registry) {
  std::map<VideoJobStatus, double> counts{{VideoJobStatus::queued, 0}, {VideoJobStatus::in_progress, 0},
                                          {VideoJobStatus::completed, 0}, {VideoJobStatus::failed, 0}};
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, job] : jobs_) counts[job->view.status] += 1;
  }
  for (const auto& [status, count] : counts)
    registry.gauge("citadel_video_jobs", "Video jobs kept, by status", {{"status", to_string(status)}}).set(count);
}

}  // namespace citadel::jobs
