// OpenAI's video job API <-> host/jobs: POST /v1/videos bodies into a
// VideoJobSpec (every field checked, 400 naming it), video job objects and
// lists as JSON, and the content variants. Pure functions.
//
// Called by video_job_endpoints.cpp and the [http] unit tests.
#pragma once

#include "host/jobs/video_job.h"
#include "host/sched/request.h"

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// {"model"? (default: the first text_to_video model), "prompt" (required),
//  "size"? "WxH" (multiples of 16; default "832x480"), "seconds"? (string or
//  number) or "frames"? (integer), "fps"?, "seed"?, "png_frames"?, and other
//  fields passed to the plugin as they are}. The plugin's native input is
//  {"prompt", "frames", "width", "height", "fps", "seed"?, ...others}.
// Throws ApiError 400 naming the field; an unknown model is 400 (param
// "model", code model_not_found), a model of another task 400
// wrong_model_task.
jobs::VideoJobSpec parse_video_job_request(std::string_view body, const std::vector<sched::ModelListing>& models,
                                           uint32_t default_fps);

// OpenAI's Video object plus Citadel's fields: {"id", "object": "video",
// "model", "status", "progress" (percent), "created_at", "completed_at",
// "expires_at", "prompt", "size", "seconds", "remixed_from_video_id": null,
// "error": {"code", "message"} | null, "frames", "frames_done",
// "chunks_done", "fps"}.
boost::json::object video_job_json(const jobs::VideoJobView& job);

// {"object": "list", "data": [...], "first_id", "last_id", "has_more"}; the
// jobs in `order` ("desc": newest first, "asc"), starting after the job
// `after` (absent: from the first), at most `limit`.
boost::json::object video_job_list_json(const std::vector<jobs::VideoJobView>& newest_first, std::string_view query);

// The value of `key` in a URL query ("a=1&b=2"), percent-decoding not needed
// for the values used here; nullopt when absent.
std::optional<std::string> query_value(std::string_view target, std::string_view key);

}  // namespace citadel::http
