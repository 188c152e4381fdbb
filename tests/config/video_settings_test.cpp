// The videos: block of citadel.yaml (video jobs of /v1/videos): defaults,
// values read (dir resolved against the file's folder), and out-of-range or
// unknown keys reported as file:line: field.
#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"

#include <algorithm>
#include <filesystem>

using citadel::test::ConfigFixture;

TEST_CASE("videos: settings have defaults and are read from citadel.yaml", "[config][video]") {
  ConfigFixture fixture;
  const citadel::config::VideoSettings defaults = fixture.load().host.videos;
  CHECK(defaults.dir.empty());
  CHECK(defaults.retention_hours == 24);
  CHECK(defaults.max_jobs == 100);
  CHECK(defaults.default_fps == 16);

  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "videos:\n"
      "  dir: jobs/videos\n"
      "  retention_hours: 0.5\n"
      "  max_jobs: 3\n"
      "  default_fps: 24\n"
      "  preview_max_side: 128\n");
  const citadel::config::VideoSettings videos = fixture.load().host.videos;
  CHECK(std::filesystem::path(videos.dir) ==
        std::filesystem::path(fixture.host_path()).parent_path() / "jobs/videos");
  CHECK(videos.retention_hours == 0.5);
  CHECK(videos.max_jobs == 3);
  CHECK(videos.default_fps == 24);
  CHECK(videos.preview_max_side == 128);
}

TEST_CASE("videos: settings out of range are reported as file:line: field", "[config][video]") {
  ConfigFixture fixture;
  fixture.write_host(
      "plugins_dir: ../plugins\nmodels_dir: models.d\n"
      "videos:\n"
      "  retention_hours: 0\n"
      "  max_jobs: 0\n"
      "  default_fps: fast\n"
      "  keep: forever\n");
  const std::vector<std::string> problems = fixture.problems();
  const std::string file = fixture.host_path();
  REQUIRE(problems.size() == 4);
  auto reported = [&](const std::string& prefix) {
    return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) { return p.starts_with(prefix); });
  };
  CHECK(reported(file + ":4: videos.retention_hours:"));
  CHECK(reported(file + ":5: videos.max_jobs:"));
  CHECK(reported(file + ":6: videos.default_fps:"));
  CHECK(reported(file + ":7: videos.keep"));
}
