// OpenAI's video job API through the real citadel binary and the video test
// plugin (tests/plugins/video_plugin.cpp, deterministic RGB frames): a job
// answers queued at once, shows progress while its frames arrive, completes
// with an MP4 that decodes back (libavformat/libavcodec) to the frames the
// plugin drew, a preview and PNG frames; list, cancel, delete, retention,
// a reload of another model while a job runs, /metrics, a multipart/form-data
// request as OpenAI's clients send it, and the 400s that name the field.
#include <catch2/catch.hpp>

#include "integration/serving_tree.hpp"
#include "plugins/video_frame_pattern.hpp"
#include "support/video_file_reader.hpp"

#include <stb_image.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

using namespace citadel::test;
namespace json = boost::json;

namespace {

struct VideoTree {
  explicit VideoTree(const std::string& videos_yaml, const std::string& options) : serving("videos:\n" + videos_yaml) {
    serving.tree.install_plugin("video", "video");
    serving.write_model("vid", "video", options);
    serving.start();
  }
  std::filesystem::path videos_dir() const { return serving.tree.config().parent_path() / "videos"; }

  json::object create(const std::string& body) {
    const HttpResponse response = serving.client().post_json("/v1/videos", body);
    INFO(response.body);
    REQUIRE(response.status == 200);
    return response.json().as_object();
  }
  json::object get(const std::string& id) {
    const HttpResponse response = serving.client().get("/v1/videos/" + id);
    INFO(response.body);
    REQUIRE(response.status == 200);
    return response.json().as_object();
  }
  // Polls until the job leaves queued/in_progress; records the progress seen.
  json::object wait_finished(const std::string& id, std::vector<int64_t>* progress = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      json::object job = get(id);
      if (progress) progress->push_back(job.at("frames_done").as_int64());
      const std::string status(job.at("status").as_string());
      if (status == "completed" || status == "failed") return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    FAIL("video job " << id << " did not finish");
    return {};
  }

  ServingTree serving;
};

}  // namespace

TEST_CASE("a video job runs through the scheduler into an MP4, a preview and PNG frames", "[integration][video]") {
  VideoTree videos("  dir: videos\n  retention_hours: 1\n", "step_delay_ms: 25, max_frames: 24, frames_per_chunk: 4");
  json::object job = videos.create(R"({"model":"vid","prompt":"a red ball","size":"64x32","frames":12,"seed":3,"png_frames":true})");
  const std::string id(job.at("id").as_string());
  CHECK(id.starts_with("video_"));
  CHECK(job.at("object").as_string() == "video");
  CHECK(job.at("status").as_string() == "queued");
  CHECK(job.at("progress").as_int64() == 0);
  CHECK(job.at("size").as_string() == "64x32");
  CHECK(job.at("frames").as_int64() == 12);

  // Content is refused until the job completes.
  const HttpResponse early = videos.serving.client().get("/v1/videos/" + id + "/content");
  if (early.status != 200) openai_error(early, 409, "video_not_ready");

  std::vector<int64_t> progress;
  job = videos.wait_finished(id, &progress);
  INFO(json::serialize(job));
  REQUIRE(job.at("status").as_string() == "completed");
  CHECK(job.at("progress").as_int64() == 100);
  CHECK(job.at("frames_done").as_int64() == 12);
  CHECK(job.at("chunks_done").as_int64() == 3);
  CHECK(job.at("completed_at").is_int64());
  CHECK(job.at("expires_at").as_int64() >= job.at("completed_at").as_int64() + 3600);
  CHECK(job.at("error").is_null());
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  CHECK(std::any_of(progress.begin(), progress.end(), [](int64_t done) { return done > 0 && done < 12; }));

  SECTION("the MP4 decodes back to the plugin's frames") {
    const HttpResponse mp4 = videos.serving.client().get("/v1/videos/" + id + "/content");
    REQUIRE(mp4.status == 200);
    CHECK(mp4.header("Content-Type") == "video/mp4");
    TempDir dir;
    const std::filesystem::path file = dir.write("got.mp4", mp4.body);
    const DecodedVideo video = read_video_file(file);
    CHECK(video.codec == "h264");
    CHECK(video.width == 64);
    CHECK(video.height == 32);
    CHECK(video.fps == Approx(16));
    REQUIRE(video.frames.size() == 12);
    for (uint32_t i = 0; i < 12; ++i) {
      INFO("frame " << i);
      CHECK(mean_abs_difference(video.frames[i], video::frame_pattern(64, 32, i, 3)) < 4.0);
    }
    CHECK(std::filesystem::exists(videos.videos_dir() / id / "video.mp4"));
  }
  SECTION("the preview and a PNG frame") {
    const HttpResponse preview = videos.serving.client().get("/v1/videos/" + id + "/content?variant=preview");
    REQUIRE(preview.status == 200);
    CHECK((preview.header("Content-Type") == "image/webp" || preview.header("Content-Type") == "image/gif"));
    const HttpResponse png = videos.serving.client().get("/v1/videos/" + id + "/content?variant=frame&index=5");
    REQUIRE(png.status == 200);
    CHECK(png.header("Content-Type") == "image/png");
    int width = 0, height = 0, channels = 0;
    unsigned char* pixels = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.body.data()),
                                                  static_cast<int>(png.body.size()), &width, &height, &channels, 3);
    REQUIRE(pixels != nullptr);
    const std::vector<uint8_t> expected = video::frame_pattern(64, 32, 5, 3);
    CHECK(std::memcmp(pixels, expected.data(), expected.size()) == 0);
    stbi_image_free(pixels);
    openai_error(videos.serving.client().get("/v1/videos/" + id + "/content?variant=frame&index=12"), 400,
                 "invalid_value");
    openai_error(videos.serving.client().get("/v1/videos/" + id + "/content?variant=poster"), 400, "invalid_value");
  }
  SECTION("listed, counted in /metrics, then deleted with its files") {
    const json::value list = videos.serving.client().get("/v1/videos").json();
    CHECK(list.at("object").as_string() == "list");
    REQUIRE(list.at("data").as_array().size() == 1);
    CHECK(list.at("data").as_array()[0].at("id").as_string() == id);
    CHECK(videos.serving.metric("citadel_video_frames_total{model=\"vid\"}") == 12);
    CHECK(videos.serving.metric("citadel_video_chunk_seconds_count{model=\"vid\"}") == 3);
    CHECK(videos.serving.metric("citadel_video_jobs{status=\"completed\"}") == 1);
    const HttpResponse deleted = videos.serving.client().request("DELETE", "/v1/videos/" + id);
    REQUIRE(deleted.status == 200);
    CHECK(deleted.json().at("object").as_string() == "video.deleted");
    CHECK(deleted.json().at("deleted").as_bool());
    openai_error(videos.serving.client().get("/v1/videos/" + id), 404, "video_not_found");
    openai_error(videos.serving.client().request("DELETE", "/v1/videos/" + id), 404, "video_not_found");
    CHECK_FALSE(std::filesystem::exists(videos.videos_dir() / id));
  }
}

TEST_CASE("a running video job is cancelled by DELETE and survives a reload of another model",
          "[integration][video]") {
  VideoTree videos("  dir: videos\n", "step_delay_ms: 40, max_frames: 64, frames_per_chunk: 4");
  const std::string cancelled(
      videos.create(R"({"model":"vid","prompt":"cancel me","size":"32x32","frames":60})").at("id").as_string());
  const std::string kept(
      videos.create(R"({"model":"vid","prompt":"keep me","size":"32x32","frames":20})").at("id").as_string());
  // Wait until the first job has frames, then cancel it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (videos.get(cancelled).at("frames_done").as_int64() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const HttpResponse deleted = videos.serving.client().request("DELETE", "/v1/videos/" + cancelled);
  REQUIRE(deleted.status == 200);
  openai_error(videos.serving.client().get("/v1/videos/" + cancelled), 404, "video_not_found");

  // A reload that adds another model leaves the running job alone.
  videos.serving.write_model("other", "faulty", "");
  const json::object reload = videos.serving.process->request({{"cmd", "reload"}});
  INFO(json::serialize(reload));
  REQUIRE(reload.at("ok").as_bool());
  const json::object job = videos.wait_finished(kept);
  CHECK(job.at("status").as_string() == "completed");
  CHECK(job.at("frames_done").as_int64() == 20);
  CHECK(read_video_file(videos.videos_dir() / kept / "video.mp4").frames.size() == 20);
  // The cancelled job's folder goes once its request has ended.
  const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::filesystem::exists(videos.videos_dir() / cancelled) && std::chrono::steady_clock::now() < gone_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(std::filesystem::exists(videos.videos_dir() / cancelled));
}

TEST_CASE("finished video jobs are deleted after videos.retention_hours", "[integration][video]") {
  VideoTree videos("  dir: videos\n  retention_hours: 0.0005\n", "max_frames: 8");
  // Created the way OpenAI's clients do it: multipart/form-data, seconds as a string.
  const std::string form =
      "--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nshort\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n16x16\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"seconds\"\r\n\r\n0.5\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"fps\"\r\n\r\n4\r\n--XyZ--\r\n";
  const HttpResponse created = videos.serving.client().request(
      "POST", "/v1/videos", form, {{"Content-Type", "multipart/form-data; boundary=XyZ"}});
  INFO(created.body);
  REQUIRE(created.status == 200);
  CHECK(created.json().at("seconds").as_string() == "0.5");
  CHECK(created.json().at("frames").as_int64() == 2);
  const std::string id(created.json().at("id").as_string());
  CHECK(videos.wait_finished(id).at("status").as_string() == "completed");
  CHECK(std::filesystem::exists(videos.videos_dir() / id / "video.mp4"));
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  openai_error(videos.serving.client().get("/v1/videos/" + id), 404, "video_not_found");
  CHECK_FALSE(std::filesystem::exists(videos.videos_dir() / id));
}

TEST_CASE("bad video job requests get 400 naming the field", "[integration][video]") {
  VideoTree videos("  dir: videos\n", "max_frames: 24");
  auto param_of = [&](const std::string& body, const std::string& code) {
    const HttpResponse response = videos.serving.client().post_json("/v1/videos", body);
    openai_error(response, 400, code);
    const json::value param = response.json().at("error").at("param");
    return param.is_string() ? std::string(param.as_string()) : std::string("null");
  };
  CHECK(param_of(R"({"model":"vid","prompt":"p","size":"50x32"})", "invalid_value") == "size");
  CHECK(param_of(R"({"model":"vid","prompt":"p","size":"big"})", "invalid_value") == "size");
  CHECK(param_of(R"({"model":"vid","prompt":"p","size":"32x32","frames":100})", "invalid_input") == "frames");
  CHECK(param_of(R"({"model":"vid","prompt":"p","size":"32x32","seconds":"10"})", "invalid_input") == "frames");
  CHECK(param_of(R"({"model":"nope","prompt":"p"})", "model_not_found") == "model");
  CHECK(param_of(R"({"model":"vid"})", "missing_field") == "prompt");
  CHECK(param_of(R"({"model":"vid","prompt":"p","frames":4,"seconds":"1"})", "invalid_value") == "frames");
  CHECK(param_of(R"({"model":"vid","prompt":"p","seconds":"soon"})", "invalid_type") == "seconds");
  CHECK(videos.serving.client().get("/v1/videos").json().at("data").as_array().empty());
}
