// POST /v1/videos parsing (host/http/video_job_request.h): the native input
// the plugin gets, seconds vs frames, the 400s naming the field, the job
// object's OpenAI fields, list pagination, job.json round trips, and the
// multipart/form-data bodies OpenAI's clients send.
#include "host/http/api_error.h"
#include "host/http/video_job_form.h"
#include "host/http/video_job_request.h"
#include "host/jobs/video_job_record.h"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

namespace json = boost::json;
using namespace citadel;
using namespace citadel::http;

namespace {

std::vector<sched::ModelListing> models() {
  sched::ModelListing video;
  video.name = "vid";
  video.task = "text_to_video";
  video.state = "serving";
  sched::ModelListing text;
  text.name = "llm";
  text.task = "text_generation";
  text.state = "serving";
  return {text, video};
}

std::string param_of(const std::string& body) {
  try {
    parse_video_job_request(body, models(), 16);
  } catch (const ApiError& error) {
    CHECK(error.status() == 400);
    return error.param();
  }
  return "(accepted)";
}

jobs::VideoJobView view(const std::string& id, int64_t created) {
  jobs::VideoJobView job;
  job.id = id;
  job.created_at = created;
  job.spec.model = "vid";
  job.spec.frames = 10;
  job.spec.fps = 5;
  job.spec.width = 32;
  job.spec.height = 16;
  return job;
}

}  // namespace

TEST_CASE("a video job request becomes the plugin's native input", "[http][video]") {
  const jobs::VideoJobSpec spec = parse_video_job_request(
      R"({"prompt":"a cat","size":"64x32","seconds":"2.5","fps":8,"seed":9,"steps":4,"png_frames":true})", models(), 16);
  CHECK(spec.model == "vid");  // the first text_to_video model
  CHECK(spec.width == 64);
  CHECK(spec.height == 32);
  CHECK(spec.frames == 20);
  CHECK(spec.seconds == "2.5");
  CHECK(spec.png_frames);
  const json::value input = json::parse(spec.input_json);
  CHECK(input.at("prompt").as_string() == "a cat");
  CHECK(input.at("frames").as_int64() == 20);
  CHECK(input.at("width").as_int64() == 64);
  CHECK(input.at("fps").as_int64() == 8);
  CHECK(input.at("seed").as_int64() == 9);
  CHECK(input.at("steps").as_int64() == 4);  // passed through
  CHECK_FALSE(input.as_object().contains("size"));
  CHECK_FALSE(input.as_object().contains("png_frames"));
  const jobs::VideoJobSpec defaults = parse_video_job_request(R"({"model":"vid","prompt":"x","frames":3})", models(), 16);
  CHECK(defaults.width == 832);
  CHECK(defaults.height == 480);
  CHECK(defaults.frames == 3);
  CHECK(defaults.fps == 16);
  CHECK(defaults.seconds.empty());
}

TEST_CASE("bad video job requests name the field", "[http][video]") {
  CHECK(param_of(R"({"prompt":"x","size":"65x32"})") == "size");
  CHECK(param_of(R"({"prompt":"x","size":"64*32"})") == "size");
  CHECK(param_of(R"({"prompt":"x","size":"8192x32"})") == "size");
  CHECK(param_of(R"({"prompt":"x","seconds":0})") == "seconds");
  CHECK(param_of(R"({"prompt":"x","seconds":"4s"})") == "seconds");
  CHECK(param_of(R"({"prompt":"x","frames":0})") == "frames");
  CHECK(param_of(R"({"prompt":"x","frames":2,"seconds":1})") == "frames");
  CHECK(param_of(R"({"prompt":"x","fps":0})") == "fps");
  CHECK(param_of(R"({"prompt":""})") == "prompt");
  CHECK(param_of(R"({"size":"64x64"})") == "prompt");
  CHECK(param_of(R"({"model":"missing","prompt":"x"})") == "model");
  CHECK(param_of(R"({"model":"llm","prompt":"x"})") == "model");
  CHECK(param_of(R"({"prompt":"x","seconds":"1","size":"16x16"})") == "(accepted)");
}

TEST_CASE("video job objects carry OpenAI's fields and lists page", "[http][video]") {
  jobs::VideoJobView job = view("video_b", 200);
  job.frames_done = 4;
  job.status = jobs::VideoJobStatus::in_progress;
  const json::object object = video_job_json(job);
  CHECK(object.at("object").as_string() == "video");
  CHECK(object.at("status").as_string() == "in_progress");
  CHECK(object.at("progress").as_int64() == 40);
  CHECK(object.at("size").as_string() == "32x16");
  CHECK(object.at("seconds").as_string() == "2");
  CHECK(object.at("completed_at").is_null());
  CHECK(object.at("error").is_null());
  job.status = jobs::VideoJobStatus::failed;
  job.error_code = "bad_frame";
  CHECK(video_job_json(job).at("error").at("code").as_string() == "bad_frame");

  const std::vector<jobs::VideoJobView> newest_first = {view("video_c", 300), view("video_b", 200), view("video_a", 100)};
  json::object page = video_job_list_json(newest_first, "/v1/videos?limit=2");
  CHECK(page.at("data").as_array().size() == 2);
  CHECK(page.at("first_id").as_string() == "video_c");
  CHECK(page.at("last_id").as_string() == "video_b");
  CHECK(page.at("has_more").as_bool());
  page = video_job_list_json(newest_first, "/v1/videos?limit=2&after=video_b");
  CHECK(page.at("data").as_array().size() == 1);
  CHECK_FALSE(page.at("has_more").as_bool());
  page = video_job_list_json(newest_first, "/v1/videos?order=asc");
  CHECK(page.at("first_id").as_string() == "video_a");
  CHECK_THROWS_AS(video_job_list_json(newest_first, "/v1/videos?limit=0"), ApiError);
  CHECK_THROWS_AS(video_job_list_json(newest_first, "/v1/videos?after=video_x"), ApiError);
  CHECK(query_value("/v1/videos/x/content?variant=frame&index=3", "index") == "3");
  CHECK_FALSE(query_value("/v1/videos/x/content", "variant"));
}

TEST_CASE("job.json keeps a finished job across a restart", "[http][video]") {
  test::TempDir dir;
  jobs::VideoJobView job = view("video_r", 123);
  job.status = jobs::VideoJobStatus::completed;
  job.frames_done = 10;
  job.chunks_done = 3;
  job.completed_at = 130;
  job.expires_at = 200;
  job.spec.prompt = "a \"quoted\" prompt";
  job.spec.png_frames = true;
  jobs::write_job_record(dir.path() / "job.json", job);
  const std::optional<jobs::VideoJobView> read = jobs::read_job_record(dir.path() / "job.json");
  REQUIRE(read);
  CHECK(read->id == "video_r");
  CHECK(read->status == jobs::VideoJobStatus::completed);
  CHECK(read->spec.prompt == job.spec.prompt);
  CHECK(read->spec.png_frames);
  CHECK(read->frames_done == 10);
  CHECK(read->expires_at == 200);
  dir.write("running.json", R"({"id":"video_q","status":"in_progress"})");
  CHECK_FALSE(jobs::read_job_record(dir.path() / "running.json"));
  CHECK_FALSE(jobs::read_job_record(dir.path() / "missing.json"));
}

TEST_CASE("multipart/form-data bodies as OpenAI's clients send them", "[http][video]") {
  const std::string content_type = "multipart/form-data; boundary=abc123";
  const std::string body =
      "--abc123\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na red\r\nball\r\n"
      "--abc123\r\nContent-Disposition: form-data; name=\"seconds\"\r\n\r\n4\r\n"
      "--abc123\r\nContent-Disposition: form-data; name=\"frames\"\r\n\r\n12\r\n"
      "--abc123\r\nContent-Disposition: form-data; name=\"png_frames\"\r\n\r\ntrue\r\n"
      "--abc123--\r\n";
  const json::object object =
      json::parse(video_form_body(body, content_type, {"frames", "png_frames"})).as_object();
  CHECK(object.at("prompt").as_string() == "a red\r\nball");
  CHECK(object.at("seconds").as_string() == "4");  // OpenAI's seconds stay a string
  CHECK(object.at("frames").as_int64() == 12);
  CHECK(object.at("png_frames").as_bool());
  const std::string with_file =
      "--b\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"a.png\"\r\n"
      "Content-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n";
  try {
    video_form_body(with_file, "multipart/form-data; boundary=b", {});
    FAIL("a file part was accepted");
  } catch (const ApiError& error) {
    CHECK(error.param() == "input_reference");
    CHECK(error.code() == "unsupported");
  }
  for (const std::string& bad : {std::string("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end"), std::string("nothing here")}) {
    try {
      video_form_body(bad, "multipart/form-data; boundary=b", {});
      FAIL("accepted: " << bad);
    } catch (const ApiError& error) {
      CHECK(error.code() == "invalid_body");
    }
  }
}
