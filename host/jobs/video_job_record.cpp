// job.json of a finished job, with boost::json.
#include "host/jobs/video_job_record.h"

#include <boost/json.hpp>

#include <fstream>
#include <iterator>

namespace citadel::jobs {

namespace json = boost::json;

namespace {

int64_t integer(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_int64() ? value->as_int64() : 0;
}

std::string text(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

}  // namespace

void write_job_record(const std::filesystem::path& file, const VideoJobView& job) {
  const json::object record{{"id", job.id},
                            {"model", job.spec.model},
                            {"prompt", job.spec.prompt},
                            {"width", job.spec.width},
                            {"height", job.spec.height},
                            {"frames", job.spec.frames},
                            {"fps", job.spec.fps},
                            {"seconds", job.spec.seconds},
                            {"png_frames", job.spec.png_frames},
                            {"status", to_string(job.status)},
                            {"frames_done", job.frames_done},
                            {"chunks_done", job.chunks_done},
                            {"created_at", job.created_at},
                            {"completed_at", job.completed_at.value_or(0)},
                            {"expires_at", job.expires_at.value_or(0)},
                            {"error_code", job.error_code},
                            {"error_message", job.error_message}};
  const std::filesystem::path temporary = file.string() + ".part";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << json::serialize(record);
  }
  std::filesystem::rename(temporary, file);
}

std::optional<VideoJobView> read_job_record(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  const std::string content((std::istreambuf_iterator<char>(in)), {});
  boost::system::error_code error;
  const json::value value = json::parse(content, error);
  if (error || !value.is_object()) return std::nullopt;
  const json::object& record = value.as_object();
  VideoJobView job;
  job.id = text(record, "id");
  const std::string status = text(record, "status");
  if (job.id.empty() || (status != "completed" && status != "failed")) return std::nullopt;
  job.status = status == "completed" ? VideoJobStatus::completed : VideoJobStatus::failed;
  job.spec.model = text(record, "model");
  job.spec.prompt = text(record, "prompt");
  job.spec.width = static_cast<uint32_t>(integer(record, "width"));
  job.spec.height = static_cast<uint32_t>(integer(record, "height"));
  job.spec.frames = static_cast<uint32_t>(integer(record, "frames"));
  job.spec.fps = static_cast<uint32_t>(integer(record, "fps"));
  job.spec.seconds = text(record, "seconds");
  const json::value* png = record.if_contains("png_frames");
  job.spec.png_frames = png != nullptr && png->is_bool() && png->as_bool();
  job.frames_done = static_cast<uint32_t>(integer(record, "frames_done"));
  job.chunks_done = static_cast<uint32_t>(integer(record, "chunks_done"));
  job.created_at = integer(record, "created_at");
  if (int64_t at = integer(record, "completed_at")) job.completed_at = at;
  if (int64_t at = integer(record, "expires_at")) job.expires_at = at;
  job.error_code = text(record, "error_code");
  job.error_message = text(record, "error_message");
  return job;
}

}  // namespace citadel::jobs
