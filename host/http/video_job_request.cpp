// POST /v1/videos parsing and the JSON of video jobs.
#include "host/http/video_job_request.h"

#include "host/http/api_error.h"
#include "host/http/model_lookup.h"
#include "host/http/request_fields.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace citadel::http {

namespace json = boost::json;

namespace {

constexpr uint32_t kMaxSide = 4096;
constexpr uint32_t kMaxFrames = 100000;

void parse_size(const std::string& size, uint32_t& width, uint32_t& height) {
  const size_t x = size.find('x');
  auto number = [](std::string_view text, uint32_t& out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  if (x == std::string::npos || !number(std::string_view(size).substr(0, x), width) ||
      !number(std::string_view(size).substr(x + 1), height))
    throw bad_request("'size' must be \"WIDTHxHEIGHT\" like \"832x480\", got \"" + size + "\"", "size");
  if (width == 0 || height == 0 || width % 16 != 0 || height % 16 != 0 || width > kMaxSide || height > kMaxSide)
    throw bad_request("'size' " + size + ": width and height must be multiples of 16 between 16 and " +
                          std::to_string(kMaxSide),
                      "size");
}

// seconds as OpenAI sends it (a string such as "4") or a number.
double parse_seconds(const json::value& value) {
  double seconds = 0;
  if (value.is_string()) {
    const std::string text(value.as_string());
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      throw bad_request("'seconds' must be a number of seconds, got \"" + text + "\"", "seconds", "invalid_type");
  } else if (value.is_number()) {
    seconds = value.to_number<double>();
  } else {
    throw bad_request("'seconds' must be a string or a number", "seconds", "invalid_type");
  }
  if (!(seconds > 0) || seconds > 3600) throw bad_request("'seconds' must be in (0, 3600]", "seconds");
  return seconds;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

}  // namespace

jobs::VideoJobSpec parse_video_job_request(std::string_view body_text, const std::vector<sched::ModelListing>& models,
                                           uint32_t default_fps) {
  json::object body = parse_json_object(body_text);
  jobs::VideoJobSpec spec;
  const std::optional<std::string> model = optional_string(body, "model");
  if (model && !find_model(models, *model))
    throw bad_request("'model': no model named '" + *model + "' is loaded", "model", "model_not_found");
  spec.model = choose_model_for_task(models, model, "text_to_video", "/v1/videos");
  spec.prompt = required_string(body, "prompt");
  if (spec.prompt.empty()) throw bad_request("'prompt' is empty", "prompt");
  parse_size(optional_string(body, "size").value_or("832x480"), spec.width, spec.height);
  spec.fps = static_cast<uint32_t>(optional_integer_in(body, "fps", 1, 240).value_or(default_fps));
  const json::value* seconds = body.if_contains("seconds");
  const bool has_seconds = seconds != nullptr && !seconds->is_null();
  const std::optional<int64_t> frames = optional_integer_in(body, "frames", 1, kMaxFrames);
  if (has_seconds && frames) throw bad_request("give 'seconds' or 'frames', not both", "frames");
  if (frames) {
    spec.frames = static_cast<uint32_t>(*frames);
  } else {
    const double duration = has_seconds ? parse_seconds(*seconds) : 4.0;
    spec.seconds = seconds_text(duration);
    spec.frames = static_cast<uint32_t>(std::max<double>(1.0, std::round(duration * spec.fps)));
    if (spec.frames > kMaxFrames) throw bad_request("'seconds' asks for more than 100000 frames", "seconds");
  }
  const std::optional<int64_t> seed = optional_integer(body, "seed");
  spec.png_frames = optional_bool(body, "png_frames").value_or(false);
  for (const char* consumed : {"model", "size", "seconds", "png_frames", "stream"}) body.erase(consumed);
  body["prompt"] = spec.prompt;
  body["frames"] = spec.frames;
  body["width"] = spec.width;
  body["height"] = spec.height;
  body["fps"] = spec.fps;
  if (seed) body["seed"] = *seed;
  spec.input_json = json::serialize(body);
  return spec;
}

json::object video_job_json(const jobs::VideoJobView& job) {
  auto optional_time = [](const std::optional<int64_t>& at) { return at ? json::value(*at) : json::value(nullptr); };
  json::value error = nullptr;
  if (job.status == jobs::VideoJobStatus::failed)
    error = json::object{{"code", job.error_code}, {"message", job.error_message}};
  const std::string seconds = job.spec.seconds.empty()
                                  ? seconds_text(static_cast<double>(job.spec.frames) / std::max(1u, job.spec.fps))
                                  : job.spec.seconds;
  return json::object{{"id", job.id},
                      {"object", "video"},
                      {"model", job.spec.model},
                      {"status", jobs::to_string(job.status)},
                      {"progress", int64_t(job.progress_percent())},
                      {"created_at", job.created_at},
                      {"completed_at", optional_time(job.completed_at)},
                      {"expires_at", optional_time(job.expires_at)},
                      {"prompt", job.spec.prompt},
                      {"size", std::to_string(job.spec.width) + "x" + std::to_string(job.spec.height)},
                      {"seconds", seconds},
                      {"remixed_from_video_id", nullptr},
                      {"error", error},
                      {"frames", int64_t(job.spec.frames)},
                      {"frames_done", int64_t(job.frames_done)},
                      {"chunks_done", int64_t(job.chunks_done)},
                      {"fps", int64_t(job.spec.fps)}};
}

std::optional<std::string> query_value(std::string_view target, std::string_view key) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) == key)
      return std::string(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

json::object video_job_list_json(const std::vector<jobs::VideoJobView>& newest_first, std::string_view target) {
  const std::string order = query_value(target, "order").value_or("desc");
  if (order != "asc" && order != "desc") throw bad_request("'order' must be \"asc\" or \"desc\"", "order");
  int64_t limit = 20;
  if (std::optional<std::string> text = query_value(target, "limit")) {
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (error != std::errc() || end != text->data() + text->size() || limit < 1 || limit > 100)
      throw bad_request("'limit' must be an integer from 1 to 100", "limit");
  }
  std::vector<jobs::VideoJobView> jobs = newest_first;
  if (order == "asc") std::reverse(jobs.begin(), jobs.end());
  size_t begin = 0;
  if (std::optional<std::string> after = query_value(target, "after")) {
    while (begin < jobs.size() && jobs[begin].id != *after) ++begin;
    if (begin == jobs.size()) throw bad_request("'after': no video job '" + *after + "'", "after");
    ++begin;
  }
  json::array data;
  for (size_t i = begin; i < jobs.size() && data.size() < static_cast<size_t>(limit); ++i)
    data.push_back(video_job_json(jobs[i]));
  const bool has_more = begin + data.size() < jobs.size();
  json::value first_id = nullptr, last_id = nullptr;
  if (!data.empty()) {
    first_id = data.front().as_object().at("id");
    last_id = data.back().as_object().at("id");
  }
  return json::object{{"object", "list"}, {"data", std::move(data)}, {"first_id", first_id},
                      {"last_id", last_id}, {"has_more", has_more}};
}

}  // namespace citadel::http
