// config::discover_plugins: folder plugins (manifest) and bare .so files,
// the latter read by the real reader (plugins::read_plugin_identity loads a
// private copy of a built echo test plugin). Name clashes and unreadable
// libraries become problems of the name a model would use.
#include "config/config_fixture.hpp"
#include "host/config/plugin_discovery.h"
#include "host/plugins/plugin_identity.h"

#include <catch2/catch.hpp>

#include <filesystem>

using citadel::config::DiscoveredPlugin;
using citadel::test::ConfigFixture;

namespace {

void copy_test_plugin(const ConfigFixture& fixture, const std::string& variant, const std::string& file) {
  std::filesystem::create_directories(fixture.path("plugins"));
  std::filesystem::copy_file(citadel::test::binary_dir() / "test-plugins" / variant / (variant + ".so"),
                             fixture.path("plugins/" + file));
}

std::map<std::string, DiscoveredPlugin> discover(const ConfigFixture& fixture,
                                                 const citadel::config::PluginIdentityReader& reader,
                                                 std::vector<std::string>& warnings) {
  citadel::config::HostConfig host;
  host.plugins_dir = fixture.path("plugins");
  host.runtime_dir = fixture.path("run");
  return citadel::config::discover_plugins(host, reader, warnings);
}

}  // namespace

TEST_CASE("bare .so files are named by their entry table, folders by their manifest", "[config][plugins]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", "name: llm\nversion: 1.0.0\n");
  copy_test_plugin(fixture, "echo-bare", "echo-bare.so");
  copy_test_plugin(fixture, "echo-v2", "renamed.so");  // reports "echo"
  copy_test_plugin(fixture, "echo-badabi", "broken.so");
  std::vector<std::string> warnings;
  const auto found = discover(fixture, citadel::plugins::plugin_identity_reader(), warnings);

  REQUIRE(found.size() == 4);
  CHECK(found.at("llm").problems.empty());
  CHECK(found.at("llm").manifest.version == "1.0.0");
  const DiscoveredPlugin& bare = found.at("echo-bare");
  CHECK(bare.problems.empty());
  CHECK(bare.manifest.version == "3.0.0");
  CHECK(bare.manifest.library == fixture.path("plugins/echo-bare.so"));
  CHECK_FALSE(bare.manifest.library_fingerprint.empty());
  CHECK(found.at("echo").manifest.library == fixture.path("plugins/renamed.so"));
  CHECK(found.at("echo").manifest.version == "2.0.0");
  REQUIRE(found.at("broken").problems.size() == 1);
  CHECK_THAT(found.at("broken").problems[0].to_string(),
             Catch::StartsWith(fixture.path("plugins/broken.so")) && Catch::Contains("ABI 99"));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("renamed.so") && Catch::Contains("\"echo\""));
  // The probe copies are gone.
  std::error_code error;
  CHECK(std::filesystem::is_empty(fixture.path("run/plugin-probes"), error));
}

TEST_CASE("a bare .so and a folder of one name are a problem naming both", "[config][plugins]") {
  ConfigFixture fixture;
  fixture.write_plugin("echo", "name: echo\n");
  copy_test_plugin(fixture, "echo-v1", "echo.so");
  std::vector<std::string> warnings;
  const auto found = discover(fixture, citadel::plugins::plugin_identity_reader(), warnings);
  REQUIRE(found.at("echo").problems.size() == 1);
  CHECK_THAT(found.at("echo").problems[0].message,
             Catch::Contains("two plugins named \"echo\"") &&
                 Catch::Contains(fixture.path("plugins/echo/plugin.yaml")) &&
                 Catch::Contains(fixture.path("plugins/echo.so")));
}

TEST_CASE("without an identity reader bare libraries are skipped with a warning", "[config][plugins]") {
  ConfigFixture fixture;
  copy_test_plugin(fixture, "echo-v1", "echo.so");
  std::vector<std::string> warnings;
  CHECK(discover(fixture, {}, warnings).empty());
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("echo.so") && Catch::Contains("ignored"));
}
