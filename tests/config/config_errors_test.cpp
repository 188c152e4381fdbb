#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"

using citadel::test::ConfigFixture;
using Lines = std::vector<std::string>;

namespace {

// A fixture with plugin "llm" (defaults: 512 MiB cache) ready for models.
void add_llm_plugin(const ConfigFixture& fixture) {
  fixture.write_plugin("llm", "name: llm\ndefaults:\n  cache: {size_mb: 512}\n");
}

}  // namespace

TEST_CASE("a wrong eviction policy is reported as file:line: field: what", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("chat.yaml",
                      "plugin: llm\n"
                      "cache:\n"
                      "  size_mb: 100\n"
                      "  eviction: mru\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/chat.yaml") +
              ":4: cache.eviction: must be one of lru, lfu, size_aware_lru, adaptive (got \"mru\")"});
}

TEST_CASE("unknown keys are reported with a suggestion", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("chat.yaml",
                      "plugin: llm\n"
                      "cache:\n"
                      "  evicton: lru\n"
                      "colour: blue\n");
  const std::string file = fixture.path("etc/models.d/chat.yaml");
  CHECK(fixture.problems() ==
        Lines{file + ":3: cache.evicton: unknown key (did you mean \"eviction\"?)",
              file + ":4: colour: unknown key (expected one of: name, plugin, weights, device, replicas, "
                     "cache, scheduler, inputs, options)"});
}

TEST_CASE("wrong types and out-of-range values are reported", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("chat.yaml",
                      "plugin: llm\n"
                      "device: gpu\n"
                      "cache:\n"
                      "  size_mb: \"big\"\n"
                      "  gc_threshold: 1.5\n"
                      "scheduler:\n"
                      "  max_queue: 0\n"
                      "  weight: -1\n"
                      "  max_step_tokens: [1]\n"
                      "options: 5\n");
  const std::string file = fixture.path("etc/models.d/chat.yaml");
  CHECK(fixture.problems() ==
        Lines{file + ":2: device: \"gpu\" is not a device of this host: " + fixture.host_path() +
                  " lists no devices (every GPU found, and cpu)",
              file + ":4: cache.size_mb: must be an integer >= 0 (got \"big\")",
              file + ":5: cache.gc_threshold: must be a number in (0, 1] (got 1.5)",
              file + ":7: scheduler.max_queue: must be an integer between 1 and 4294967295 (got 0)",
              file + ":8: scheduler.weight: must be a number > 0 (got -1)",
              file + ":9: scheduler.max_step_tokens: must be an integer between 1 and 4294967295 (got a list)",
              file + ":10: options: must be a mapping of plugin options (got 5)"});
}

TEST_CASE("replicas outside 1..64 is reported with its line", "[config][replicas]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "plugin: llm\nreplicas: 0\n");
  fixture.write_model("b.yaml", "plugin: llm\ndevice: cpu\nreplicas: many\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/a.yaml") + ":2: replicas: must be an integer between 1 and 64 (got 0)",
              fixture.path("etc/models.d/b.yaml") +
                  ":3: replicas: must be an integer between 1 and 64 (got \"many\")"});
}

TEST_CASE("reserved_mb larger than size_mb is reported", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("chat.yaml", "plugin: llm\ncache:\n  reserved_mb: 600\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/chat.yaml") +
              ":3: cache.reserved_mb: must not exceed cache.size_mb (got 600 > 512)"});
}

TEST_CASE("a missing plugin key and an unknown plugin are reported", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "device: cpu\n");
  fixture.write_model("b.yaml", "plugin: vista\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/a.yaml") + ":1: plugin: required key is missing",
              fixture.path("etc/models.d/b.yaml") + ":1: plugin: no plugin \"vista\" in " +
                  fixture.path("plugins") + " (no " + fixture.path("plugins/vista/plugin.yaml") +
                  " nor a library reporting that name; plugins there: llm)"});
}

TEST_CASE("a manifest whose library file is missing is reported when a model uses it", "[config]") {
  ConfigFixture fixture;
  fixture.dir.write("plugins/ocr/plugin.yaml", "name: ocr\nlibrary: build/ocr.so\n");
  fixture.write_model("reader.yaml", "plugin: ocr\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("plugins/ocr/plugin.yaml") + ":2: library: library file not found: " +
              fixture.path("plugins/ocr/build/ocr.so")});
}

TEST_CASE("duplicate model names name both files", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "plugin: llm\nname: chat\n");
  fixture.write_model("b.yaml", "name: chat\nplugin: llm\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/b.yaml") + ":1: name: duplicate model name \"chat\" (also defined in " +
              fixture.path("etc/models.d/a.yaml") + ":2)"});
}

TEST_CASE("invalid model names are reported", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "plugin: llm\nname: \"-bad name\"\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/a.yaml") +
              ":2: name: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
              "(got \"-bad name\")"});
}

TEST_CASE("YAML syntax errors give the line and column", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "plugin: llm\ncache: {size_mb: 5\n");
  const Lines problems = fixture.problems();
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::StartsWith(fixture.path("etc/models.d/a.yaml") + ":") &&
                             Catch::Contains(": YAML syntax error at column"));
}

TEST_CASE("host settings are validated too", "[config]") {
  ConfigFixture fixture;
  fixture.write_host(
      "plugins_dir: ../plugins\n"
      "admin: {mode: 999, allowed_uids: [no-such-user-xyz]}\n"
      "http: {listen: localhost}\n"
      "devices: [cpu, tpu]\n"
      "gpu_memory_utilization: 0\n"
      "log_level: loud\n");
  const std::string file = fixture.host_path();
  CHECK(fixture.problems() ==
        Lines{file + ":2: admin.mode: must be octal permission bits like \"0600\" (got 999)",
              file + ":2: admin.allowed_uids[0]: no such user (got \"no-such-user-xyz\")",
              file + ":3: http.listen: must be host:port like 127.0.0.1:8080, or \"\" to disable HTTP "
                     "(got \"localhost\")",
              file + ":4: devices[1]: must be \"cpu\", \"cuda:N\" or a logical device {name, device, pool_mb} (got \"tpu\")",
              file + ":5: gpu_memory_utilization: must be a number in (0, 1] (got 0)",
              file + ":6: log_level: must be one of trace, debug, info, warn, error, off (got \"loud\")"});
}

TEST_CASE("problems in several files are all reported at once", "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("a.yaml", "plugin: llm\ncache: {eviction: mru}\n");
  fixture.write_model("b.yaml", "plugin: llm\ncache: [\n");  // syntax error
  fixture.write_model("c.yaml", "plugin: llm\n");             // fine
  fixture.write_model("d.yaml", "plugin: llm\ndevice: tpu\n");
  const Lines problems = fixture.problems();
  REQUIRE(problems.size() == 3);
  CHECK_THAT(problems[0], Catch::StartsWith(fixture.path("etc/models.d/a.yaml") + ":2: cache.eviction:"));
  CHECK_THAT(problems[1], Catch::StartsWith(fixture.path("etc/models.d/b.yaml") + ":"));
  CHECK_THAT(problems[2], Catch::StartsWith(fixture.path("etc/models.d/d.yaml") + ":2: device:"));
  try {
    fixture.load();
    FAIL("load_configuration did not throw");
  } catch (const citadel::config::ConfigError& error) {
    CHECK(std::string(error.what()) == problems[0] + "\n" + problems[1] + "\n" + problems[2]);
  }
}

TEST_CASE("a missing citadel.yaml is a ConfigError naming it", "[config]") {
  citadel::test::TempDir dir;
  const std::string path = (dir.path() / "nope.yaml").string();
  CHECK_THROWS_WITH(citadel::config::load_configuration(path),
                    path + ": cannot read the file: No such file or directory");
}

TEST_CASE("a missing models_dir is reported", "[config]") {
  ConfigFixture fixture;
  fixture.write_host("plugins_dir: ../plugins\nmodels_dir: nowhere\n");
  CHECK(fixture.problems() ==
        Lines{fixture.host_path() + ": models_dir: folder not found: " + fixture.path("etc/nowhere")});
}

TEST_CASE("a file that is not UTF-8 is reported with its line, and its options never reach plugins",
          "[config]") {
  ConfigFixture fixture;
  add_llm_plugin(fixture);
  fixture.write_model("chat.yaml", "plugin: llm\noptions:\n  key\xff: \"caf\xe9\"\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/chat.yaml") + ":3: not valid UTF-8 (byte 26 of the file)"});
}

// Found by the plugin_manifest fuzz target: a manifest option key holding a
// NUL byte made options JSON that did not parse again, and loading a model of
// that plugin threw out of the loader. (Files that are not UTF-8 are refused
// whole when read; yaml-cpp refuses escapes of surrogates.)
TEST_CASE("manifest option keys and strings with NUL bytes are reported", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", "name: llm\ndefaults:\n  options:\n    prefix: \"a\\0b\"\n    max_conte\x01" +
                                  std::string(1, '\0') + "_tokens: 0\n");
  fixture.write_model("a.yaml", "plugin: llm\n");
  const Lines problems = fixture.problems();
  INFO(Catch::Detail::stringify(problems));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] ==
        fixture.path("plugins/llm/plugin.yaml") + ":4: defaults.options.prefix: must be UTF-8 text without NUL bytes");
  CHECK(problems[1] ==
        fixture.path("plugins/llm/plugin.yaml") + ":5: defaults.options: keys must be UTF-8 text without NUL bytes");
}
