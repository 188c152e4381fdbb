#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"
#include "host/config/config_diff.h"

using citadel::config::diff;
using citadel::test::ConfigFixture;
using Names = std::vector<std::string>;

namespace {

void add_three_models(const ConfigFixture& fixture) {
  fixture.write_plugin("llm", "name: llm\ndefaults: {cache: {size_mb: 64}}\n", "llm v1");
  fixture.write_plugin("ocr", "name: ocr\n", "ocr v1");
  fixture.write_model("a.yaml", "plugin: llm\n");
  fixture.write_model("b.yaml", "plugin: llm\ncache: {size_mb: 32}\n");
  fixture.write_model("c.yaml", "plugin: ocr\n");
}

}  // namespace

TEST_CASE("diff of a configuration with itself changes nothing", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto result = diff(fixture.load(), fixture.load());
  CHECK(result.unchanged == Names{"a", "b", "c"});
  CHECK(result.added.empty());
  CHECK(result.removed.empty());
  CHECK(result.changed.empty());
  CHECK(result.plugins_changed.empty());
  CHECK_FALSE(result.host_changed);
  CHECK_FALSE(result.models_changed());
}

TEST_CASE("diff reports added, removed and changed models", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto before = fixture.load();
  fixture.write_model("b.yaml", "plugin: llm\ncache: {size_mb: 48}\n");
  std::filesystem::remove(fixture.path("etc/models.d/c.yaml"));
  fixture.write_model("d.yaml", "plugin: ocr\n");
  const auto result = diff(before, fixture.load());
  CHECK(result.added == Names{"d"});
  CHECK(result.removed == Names{"c"});
  CHECK(result.changed == Names{"b"});
  CHECK(result.unchanged == Names{"a"});
  CHECK(result.models_changed());
}

TEST_CASE("diff sees a change in any model field, options included", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto before = fixture.load();
  fixture.write_model("a.yaml", "plugin: llm\noptions: {temperature: 0.1}\n");
  fixture.write_model("b.yaml", "plugin: llm\ncache: {size_mb: 32}\nscheduler: {weight: 3}\n");
  const auto result = diff(before, fixture.load());
  CHECK(result.changed == Names{"a", "b"});
  CHECK(result.unchanged == Names{"c"});
}

TEST_CASE("a replaced plugin library changes every model that uses it", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto before = fixture.load();
  fixture.write_plugin("llm", "name: llm\ndefaults: {cache: {size_mb: 64}}\n", "llm v2, a longer build");
  const auto result = diff(before, fixture.load());
  CHECK(result.plugins_changed == Names{"llm"});
  CHECK(result.changed == Names{"a", "b"});
  CHECK(result.unchanged == Names{"c"});
}

TEST_CASE("host settings that need a restart are named", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto before = fixture.load();
  fixture.write_host(
      "plugins_dir: ../plugins\n"
      "admin: {socket: /tmp/other.sock}\n"
      "http: {listen: \"127.0.0.1:9999\", max_body_bytes: 100}\n"
      "devices: [cpu]\n"
      "log_level: debug\n");
  const auto result = diff(before, fixture.load());
  CHECK(result.host_changed);
  // The http limits are read when the server starts: a reload cannot apply them.
  CHECK(result.host_changes_needing_restart ==
        Names{"admin.socket", "http.listen", "http.max_body_bytes", "devices"});
  CHECK(result.unchanged == Names{"a", "b", "c"});
}

TEST_CASE("new API keys are a host change that a reload applies", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  fixture.dir.write("etc/keys.txt", "sk-first-0123456789abcdef\n");
  fixture.write_host("plugins_dir: ../plugins\nhttp: {api_keys: {file: keys.txt}}\n");
  const auto before = fixture.load();
  fixture.dir.write("etc/keys.txt", "sk-second-0123456789abcdef\n");
  const auto result = diff(before, fixture.load());
  CHECK(result.host_changed);
  CHECK(result.host_changes_needing_restart.empty());
}

TEST_CASE("a log_level change alone is a host change that needs no restart", "[config]") {
  ConfigFixture fixture;
  add_three_models(fixture);
  const auto before = fixture.load();
  fixture.write_host("plugins_dir: ../plugins\nlog_level: warn\n");
  const auto result = diff(before, fixture.load());
  CHECK(result.host_changed);
  CHECK(result.host_changes_needing_restart.empty());
}
