// OpenAI's video job API: POST /v1/videos (create, from JSON or OpenAI's
// multipart/form-data, answered at once with the queued job), GET /v1/videos (list), GET /v1/videos/{id} (status and
// progress), GET /v1/videos/{id}/content?variant=video|preview|frame&index=N
// (the MP4, the animated preview, a PNG frame), DELETE /v1/videos/{id}
// (cancel or delete). The jobs are the host's VideoJobManager
// (host/jobs); without one these routes answer 503.
#include "host/http/endpoints.h"

#include "host/http/multipart_form.h"
#include "host/http/video_job_request.h"
#include "host/jobs/video_job_manager.h"
#include "host/media/video_file_writer.h"

#include <boost/json.hpp>

#include <charconv>
#include <fstream>
#include <iterator>

namespace citadel::http {

namespace net = boost::asio;
namespace json = boost::json;

namespace {

jobs::VideoJobManager& manager_of(Exchange& exchange) {
  if (!exchange.server().video_jobs)
    throw ApiError(503, "service_unavailable_error", "video jobs are not available on this server", {},
                   "video_jobs_unavailable");
  return *exchange.server().video_jobs;
}

ApiError video_not_found(const std::string& id) {
  return ApiError(404, "not_found_error", "no video job '" + id + "'", "video_id", "video_not_found");
}

// "/v1/videos/{id}" or "/v1/videos/{id}/content" -> {id, "content" or ""}.
std::pair<std::string, std::string> split_video_path(std::string_view target) {
  std::string_view path = target_path(target);
  path.remove_prefix(std::string_view("/v1/videos/").size());
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return {std::string(path), ""};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw internal_error("cannot read " + path.filename().string(), "media_error");
  return std::string(std::istreambuf_iterator<char>(file), {});
}

net::awaitable<void> serve_content(Exchange& exchange, jobs::VideoJobManager& manager, const std::string& id) {
  const std::string target(exchange.request().target());
  const std::string variant = query_value(target, "variant").value_or("video");
  jobs::VideoVariant kind = jobs::VideoVariant::video;
  std::string content_type = "video/mp4";
  uint32_t index = 0;
  if (variant == "preview" || variant == "thumbnail") {
    kind = jobs::VideoVariant::preview;
    content_type = media::preview_content_type();
  } else if (variant == "frame") {
    kind = jobs::VideoVariant::frame;
    content_type = "image/png";
    const std::string text = query_value(target, "index").value_or("");
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      throw bad_request("'index' must be a frame number (variant=frame)", "index");
  } else if (variant != "video") {
    throw bad_request("'variant' must be \"video\", \"preview\" or \"frame\", got \"" + variant + "\"", "variant");
  }
  std::optional<jobs::VideoJobView> job = manager.get(id);
  if (!job) throw video_not_found(id);
  if (job->status != jobs::VideoJobStatus::completed)
    throw ApiError(409, "invalid_request_error",
                   "video job '" + id + "' is " + jobs::to_string(job->status) + "; its content exists once completed",
                   "video_id", "video_not_ready");
  std::optional<std::filesystem::path> path = manager.file(id, kind, index);
  if (!path) {
    if (kind == jobs::VideoVariant::frame)
      throw bad_request(job->spec.png_frames ? "'index' " + std::to_string(index) + " is past the last frame (" +
                                                   std::to_string(job->frames_done) + " frames)"
                                             : "video job '" + id + "' was created without \"png_frames\": true",
                        "index");
    throw video_not_found(id);
  }
  co_await exchange.respond(200, content_type, read_file(*path));
}

json::object deleted_json(const std::string& id) {
  return json::object{{"id", id}, {"object", "video.deleted"}, {"deleted", true}};
}

}  // namespace

net::awaitable<void> handle_create_video(Exchange& exchange) {
  ServerContext& server = exchange.server();
  const uint32_t default_fps = server.video_jobs ? server.video_jobs->default_fps() : 16;
  // OpenAI's clients send multipart/form-data; JSON is taken as well.
  std::string body = exchange.request().body();
  const auto content_type = exchange.request().find(boost::beast::http::field::content_type);
  if (content_type != exchange.request().end())
    if (std::optional<std::string> boundary = multipart_boundary(content_type->value()))
      body = json::serialize(form_to_json(parse_multipart_form(body, *boundary),
                                          {"frames", "fps", "seed", "png_frames"}));
  jobs::VideoJobSpec spec = parse_video_job_request(body, server.router.list_models(), default_fps);
  exchange.authorize_model(spec.model);
  jobs::VideoJobManager& manager = manager_of(exchange);
  const std::string model = spec.model;
  jobs::VideoJobView job;
  try {
    job = manager.create(std::move(spec));
  } catch (const jobs::VideoJobRefused& refused) {
    ApiError error = from_rejection(refused.rejection(), model);
    // The plugin's refusals name the field of the native input ("frames: ...").
    const std::string& message = refused.rejection().message;
    std::string param = error.param();
    for (const char* field : {"frames", "width", "height", "fps", "seed", "prompt"})
      if (error.status() == 400 && message.find(std::string(field) + ":") != std::string::npos) {
        param = field == std::string("width") || field == std::string("height") ? "size" : field;
        break;
      }
    if (param != error.param()) throw ApiError(400, error.type(), error.what(), param, error.code());
    throw error;
  }
  co_await exchange.respond_json(200, video_job_json(job));
}

net::awaitable<void> handle_list_videos(Exchange& exchange) {
  jobs::VideoJobManager& manager = manager_of(exchange);
  co_await exchange.respond_json(200, video_job_list_json(manager.list(), exchange.request().target()));
}

net::awaitable<void> handle_get_video(Exchange& exchange) {
  jobs::VideoJobManager& manager = manager_of(exchange);
  const std::pair<std::string, std::string> parts = split_video_path(exchange.request().target());
  const std::string& id = parts.first;
  const std::string& rest = parts.second;
  if (rest == "content") {
    co_await serve_content(exchange, manager, id);
    co_return;
  }
  if (!rest.empty()) throw route_not_found(std::string(target_path(exchange.request().target())));
  std::optional<jobs::VideoJobView> job = manager.get(id);
  if (!job) throw video_not_found(id);
  co_await exchange.respond_json(200, video_job_json(*job));
}

net::awaitable<void> handle_delete_video(Exchange& exchange) {
  jobs::VideoJobManager& manager = manager_of(exchange);
  const std::pair<std::string, std::string> parts = split_video_path(exchange.request().target());
  const std::string& id = parts.first;
  const std::string& rest = parts.second;
  if (!rest.empty()) throw route_not_found(std::string(target_path(exchange.request().target())));
  if (!manager.remove(id)) throw video_not_found(id);
  co_await exchange.respond_json(200, deleted_json(id));
}

}  // namespace citadel::http
