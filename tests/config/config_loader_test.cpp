#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "config/config_fixture.hpp"
#include "host/config/host_config_reader.h"
#include "host/config/yaml_file.h"

using citadel::config::EvictionPolicyKind;
using citadel::test::ConfigFixture;

namespace {

const char* kLlmManifest =
    "name: llm\n"
    "version: 1.2.0\n"
    "description: test LLM\n"
    "defaults:\n"
    "  cache: {size_mb: 512, eviction: lfu, gc_threshold: 0.8}\n"
    "  options: {temperature: 0.7, sampling: {top_k: 40, top_p: 0.9}, stop: [\"</s>\"]}\n";

}  // namespace

TEST_CASE("an empty citadel.yaml loads with defaults relative to its folder", "[config]") {
  ConfigFixture fixture;
  fixture.write_host("");
  fixture.dir.write("etc/models.d/.keep", "");
  const auto configuration = fixture.load();
  const auto& host = configuration.host;
  CHECK(host.source_file == fixture.host_path());
  CHECK(host.plugins_dir == fixture.path("etc/plugins"));
  CHECK(host.models_dir == fixture.path("etc/models.d"));
  CHECK(host.admin.socket == "/run/citadel/citadel.sock");
  CHECK(host.admin.mode == 0600);
  CHECK(host.http.listen == "127.0.0.1:8080");
  CHECK(host.log_level == "info");
  CHECK(host.runtime_dir == citadel::config::default_runtime_dir());
  CHECK(configuration.models.empty());
}

TEST_CASE("citadel.yaml settings are read and relative paths resolve against its folder", "[config]") {
  ConfigFixture fixture;
  fixture.write_host(
      "admin:\n"
      "  socket: ../run/admin.sock\n"
      "  mode: \"0660\"\n"
      "  allowed_uids: [1000, 0]\n"
      "  allowed_gids: [27]\n"
      "  max_line_bytes: 4096\n"
      "plugins_dir: ../plugins\n"
      "models_dir: models.d\n"
      "runtime_dir: /tmp/citadel-runtime\n"
      "http: {listen: \"0.0.0.0:9000\", max_body_bytes: 1024, max_tokens_limit: 100, idle_timeout_s: 5}\n"
      "devices: [cpu, \"cuda:1\"]\n"
      "gpu_memory_utilization: 0.5\n"
      "swap_space_gb: 2.5\n"
      "cpu_cache_mb: 256\n"
      "log_level: debug\n"
      "watchdog_s: 30\n");
  const auto host = fixture.load().host;
  CHECK(host.admin.socket == fixture.path("run/admin.sock"));
  CHECK(host.admin.mode == 0660);
  CHECK(host.admin.allowed_uids == std::vector<uint32_t>{1000, 0});
  CHECK(host.admin.allowed_gids == std::vector<uint32_t>{27});
  CHECK(host.admin.max_line_bytes == 4096);
  CHECK(host.plugins_dir == fixture.path("plugins"));
  CHECK(host.runtime_dir == "/tmp/citadel-runtime");
  CHECK(host.http.listen == "0.0.0.0:9000");
  CHECK(host.http.max_body_bytes == 1024);
  CHECK(host.http.max_tokens_limit == 100);
  CHECK(host.http.idle_timeout_s == 5);
  CHECK(host.devices == std::vector<citadel::config::DeviceSpec>{{"cpu", "cpu"}, {"cuda:1", "cuda:1"}});
  CHECK(host.gpu_memory_utilization == 0.5);
  CHECK(host.swap_space_gb == 2.5);
  CHECK(host.cpu_cache_mb == 256);
  CHECK(host.log_level == "debug");
  CHECK(host.watchdog_s == 30);
}

TEST_CASE("admin.mode accepts an unquoted octal number", "[config]") {
  ConfigFixture fixture;
  fixture.write_host("plugins_dir: ../plugins\nadmin: {mode: 0640}\n");
  CHECK(fixture.load().host.admin.mode == 0640);
}

TEST_CASE("a model gets its plugin manifest's defaults", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", kLlmManifest);
  fixture.write_model("chat.yaml", "plugin: llm\n");
  const auto configuration = fixture.load();
  REQUIRE(configuration.models.count("chat") == 1);
  const auto& model = configuration.models.at("chat");
  CHECK(model.name == "chat");
  CHECK(model.plugin == "llm");
  CHECK(model.device == "auto");
  CHECK(model.weights.empty());
  CHECK(model.source_file == fixture.path("etc/models.d/chat.yaml"));
  CHECK(model.cache.size_mb == 512);
  CHECK(model.cache.eviction == EvictionPolicyKind::lfu);
  CHECK(model.cache.gc_threshold == 0.8);
  CHECK(model.scheduler.max_queue == 256);
  CHECK(boost::json::parse(model.options_json) ==
        boost::json::parse(R"({"temperature":0.7,"sampling":{"top_k":40,"top_p":0.9},"stop":["</s>"]})"));

  const auto& manifest = configuration.plugins.at("llm");
  CHECK(manifest.version == "1.2.0");
  CHECK(manifest.description == "test LLM");
  CHECK(manifest.library == fixture.path("plugins/llm/llm.so"));
  CHECK(manifest.source_file == fixture.path("plugins/llm/plugin.yaml"));
  CHECK_FALSE(manifest.library_fingerprint.empty());
}

TEST_CASE("a models.d file overrides the manifest defaults key by key", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", kLlmManifest);
  fixture.write_model("chat.yml",
                      "name: chat-big\n"
                      "plugin: llm\n"
                      "weights: ../weights/model.safetensors\n"
                      "device: cuda:0\n"
                      "cache: {size_mb: 2048, reserved_mb: 256, eviction: adaptive}\n"
                      "scheduler: {max_queue: 8, max_batch_requests: 4, max_step_tokens: 512,"
                      " weight: 2.5, request_timeout_s: 30}\n"
                      "options:\n"
                      "  temperature: 0\n"
                      "  sampling: {top_k: 1}\n"
                      "  greeting: \"007\"\n"
                      "  enabled: true\n"
                      "  nothing: ~\n");
  const auto configuration = fixture.load();
  REQUIRE(configuration.models.count("chat-big") == 1);
  const auto& model = configuration.models.at("chat-big");
  CHECK(model.weights == fixture.path("etc/weights/model.safetensors"));
  CHECK(model.device == "cuda:0");
  CHECK(model.cache.size_mb == 2048);
  CHECK(model.cache.reserved_mb == 256);
  CHECK(model.cache.eviction == EvictionPolicyKind::adaptive);
  CHECK(model.cache.gc_threshold == 0.8);  // from the manifest
  CHECK(model.scheduler.max_queue == 8);
  CHECK(model.scheduler.max_batch_requests == 4);
  CHECK(model.scheduler.max_step_tokens == 512);
  CHECK(model.scheduler.weight == 2.5);
  CHECK(model.scheduler.request_timeout_s == 30);
  CHECK(boost::json::parse(model.options_json) ==
        boost::json::parse(R"({"temperature":0,"sampling":{"top_k":1,"top_p":0.9},"stop":["</s>"],)"
                           R"("greeting":"007","enabled":true,"nothing":null})"));
}

TEST_CASE("models.d ignores dotfiles, other extensions and folders", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", kLlmManifest);
  fixture.write_model("a.yaml", "plugin: llm\n");
  fixture.write_model(".hidden.yaml", "plugin: missing\n");
  fixture.write_model("notes.txt", "not: yaml: at all: [");
  fixture.write_model("b.yaml.bak", "plugin: missing\n");
  fixture.write_model("sub/c.yaml", "plugin: missing\n");
  const auto configuration = fixture.load();
  CHECK(configuration.models.size() == 1);
  CHECK(configuration.models.count("a") == 1);
}

TEST_CASE("a manifest may name its library; the default is <name>.so beside it", "[config]") {
  ConfigFixture fixture;
  fixture.dir.write("plugins/ocr/plugin.yaml", "library: lib/libocr.so\n");
  fixture.dir.write("plugins/ocr/lib/libocr.so", "bytes");
  fixture.write_model("reader.yaml", "plugin: ocr\n");
  const auto configuration = fixture.load();
  CHECK(configuration.plugins.at("ocr").library == fixture.path("plugins/ocr/lib/libocr.so"));
  CHECK(configuration.plugins.at("ocr").name == "ocr");
  CHECK(configuration.models.at("reader").options_json == "{}");
}

TEST_CASE("a broken manifest no model uses is a warning, not an error", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", kLlmManifest);
  fixture.dir.write("plugins/unused/plugin.yaml", "name: unused\n");  // no unused.so
  fixture.write_model("chat.yaml", "plugin: llm\n");
  const auto configuration = fixture.load();
  CHECK(configuration.models.size() == 1);
  CHECK(configuration.plugins.count("unused") == 0);
  REQUIRE(configuration.warnings.size() == 1);
  CHECK(configuration.warnings[0] ==
        fixture.path("plugins/unused/plugin.yaml") + ":1: library: library file not found: " +
            fixture.path("plugins/unused/unused.so") +
            " (the default: <name>.so beside the manifest) (plugin \"unused\" is not used; ignored)");
}

TEST_CASE("a replaced plugin library gets a new fingerprint", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", kLlmManifest, "version one");
  fixture.write_model("chat.yaml", "plugin: llm\n");
  const std::string before = fixture.load().plugins.at("llm").library_fingerprint;
  CHECK(fixture.load().plugins.at("llm").library_fingerprint == before);
  fixture.write_plugin("llm", kLlmManifest, "version two");
  CHECK(fixture.load().plugins.at("llm").library_fingerprint != before);
}

TEST_CASE("the shipped config/citadel.yaml is valid", "[config]") {
  const std::string file = (citadel::test::source_dir() / "config" / "citadel.yaml").string();
  std::vector<citadel::config::ConfigProblem> problems;
  const auto root = citadel::config::load_yaml_file(file, problems);
  REQUIRE(root);
  const auto host = citadel::config::read_host_config(*root, file, problems);
  CHECK(problems.empty());
  CHECK(host.admin.socket == (citadel::test::source_dir() / "run" / "citadel.sock").lexically_normal().string());
  CHECK(host.admin.mode == 0600);
  CHECK(host.plugins_dir == (citadel::test::source_dir() / "build" / "plugins").lexically_normal().string());
  CHECK(host.http.listen == "127.0.0.1:8080");
  CHECK(host.devices.empty());  // every GPU found, else the CPU
}
