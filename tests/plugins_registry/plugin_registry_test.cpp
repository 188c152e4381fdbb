// The plugin registry with the real echo test plugins (.so files built by
// tests/plugins): loading, ABI and symbol checks, create failures, private
// copies, library sharing and closing, and the echo plugin's behaviour.
#include "plugins_registry/request_driver.hpp"
#include "support/test_support.hpp"

#include "host/cache/cache_manager.h"
#include "host/plugins/plugin_load_error.h"
#include "host/plugins/plugin_registry.h"

#include <catch2/catch.hpp>

#include <filesystem>

using citadel::plugins::PluginLoadError;
using citadel::plugins::PluginRegistry;
namespace fs = std::filesystem;

namespace {

fs::path variant_library(const std::string& variant) {
  return citadel::test::binary_dir() / "test-plugins" / variant / (variant + ".so");
}

citadel::config::PluginManifest manifest_for(const std::string& name, const fs::path& library) {
  citadel::config::PluginManifest manifest;
  manifest.name = name;
  manifest.version = "1.0.0";
  manifest.library = library.string();
  manifest.source_file = (library.parent_path() / "plugin.yaml").string();
  return manifest;
}

citadel::config::ModelConfig model_named(const std::string& name, const std::string& plugin,
                                         const std::string& options_json = "{}") {
  citadel::config::ModelConfig model;
  model.name = name;
  model.plugin = plugin;
  model.device = "cpu";
  model.options_json = options_json;
  model.source_file = "/etc/citadel/models.d/" + name + ".yaml";
  return model;
}

// The real cache pool the instances of these tests take their blocks from
// (CPU backend, no background GC so nothing moves behind a test's back).
citadel::cache::CacheManager& test_pool() {
  static citadel::cache::CacheManager manager = [] {
    citadel::config::HostConfig host;
    host.devices = {{"cpu", "cpu"}};
    host.cpu_cache_mb = 256;
    citadel::cache::CacheManagerOptions options;
    options.pool.background_gc = false;
    return citadel::cache::CacheManager(host, options);
  }();
  return manager;
}

// Creates an instance of `variant` with a cache space of the pool attached.
std::shared_ptr<citadel::plugins::PluginModelInstance> make_echo(
    PluginRegistry& registry, const std::string& variant, const std::string& options_json = "{}") {
  auto instance = registry.create_instance(model_named("m-" + variant, variant, options_json),
                                           manifest_for(variant, variant_library(variant)),
                                           citadel::common::DeviceName{}, 1);
  const citadel_model_info& info = instance->info();
  citadel::cache::BlockGeometry geometry{
      info.tokens_per_block,
      uint64_t{info.tokens_per_block} * info.num_layers * info.bytes_per_token_per_layer};
  static int spaces_made = 0;
  citadel::cache::CacheSpaceSettings settings;
  settings.model = instance->config().name + "#" + std::to_string(++spaces_made);
  settings.geometry = geometry;
  settings.cache.size_mb = 16;
  instance->attach_cache_space(test_pool().create_space("cpu", settings));
  return instance;
}

std::string load_error_of(PluginRegistry& registry, const std::string& name, const fs::path& library) {
  try {
    registry.load(manifest_for(name, library));
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("echo-v1 echoes its prompt through real cache blocks", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto echo = make_echo(registry, "echo-v1");
  CHECK(echo->plugin_version() == "1.0.0");
  CHECK(echo->info().task == CITADEL_TASK_TEXT_GENERATION);
  CHECK(echo->model_version() == "echo 1.0.0");

  auto result = citadel::test::drive_request(*echo, 7, R"({"prompt": "hello", "max_tokens": 12})", 3);
  CHECK(result.error.empty());
  CHECK(result.state == CITADEL_REQUEST_FINISHED);
  CHECK(result.finish_reason == CITADEL_FINISH_LENGTH);
  CHECK(result.text == "hellohellohe");
  // Two prefill chunks of the 5-token prompt (the second samples the first
  // token), then one decode step for each of the 11 other tokens.
  CHECK(result.steps == 2 + 11);
}

TEST_CASE("echo stops early on a stop string and leaves it out of the text", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto echo = make_echo(registry, "echo-v1");
  auto result = citadel::test::drive_request(
      *echo, 1, R"({"messages": [{"role": "user", "content": "abcdef"}], "max_tokens": 50, "stop": ["cd"]})");
  CHECK(result.finish_reason == CITADEL_FINISH_STOP);
  CHECK(result.text == "ab");
}

TEST_CASE("echo-v2 output is visibly different from v1", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto echo = make_echo(registry, "echo-v2");
  CHECK(echo->plugin_version() == "2.0.0");
  auto result = citadel::test::drive_request(*echo, 1, R"({"prompt": "xy", "max_tokens": 3})");
  CHECK(result.text == "v2:xyx");
}

TEST_CASE("echo fails a request whose cache content was corrupted between steps", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto echo = make_echo(registry, "echo-v1", R"({"tokens_per_block": 4, "num_layers": 3})");
  auto space = echo->cache_space();
  bool corrupted = false;
  auto result = citadel::test::drive_request(
      *echo, 1, R"({"prompt": "abcdefgh", "max_tokens": 8})", 1000,
      [&](const std::vector<citadel::cache::BlockId>& blocks) {
        if (!corrupted) static_cast<std::byte*>(space->address(blocks.at(1)))[100] ^= std::byte{0x5a};
        corrupted = true;
      });
  CHECK(result.state == CITADEL_REQUEST_FAILED);
  CHECK(result.finish_reason == CITADEL_FINISH_ERROR);
  CHECK_THAT(result.error, Catch::Contains("cache corrupted at position"));
}

TEST_CASE("echo rejects bad input naming the field", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto echo = make_echo(registry, "echo-v1");
  try {
    echo->open_request(1, R"({"prompt": "x", "max_tokens": "many"})", {});
    FAIL("no error");
  } catch (const citadel::plugins::PluginCallError& e) {
    CHECK(e.status() == CITADEL_ERR_INVALID_ARGUMENT);
    CHECK_THAT(e.what(), Catch::Contains("max_tokens"));
  }
  CHECK_THROWS_WITH(echo->open_request(2, R"({"max_tokens": 3})", {}), Catch::Contains("prompt"));
}

TEST_CASE("a plugin speaking another ABI major is refused naming both versions", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  const std::string host_abi = std::to_string(CITADEL_ABI_VERSION_MAJOR) + "." +
                               std::to_string(CITADEL_ABI_VERSION_MINOR);
  const fs::path library = variant_library("echo-badabi");
  CHECK(load_error_of(registry, "echo-badabi", library) ==
        "plugin echo-badabi (" + library.string() + ") speaks ABI 99." + std::to_string(CITADEL_ABI_VERSION_MINOR) + ", host speaks " + host_abi);
  CHECK(fs::is_empty(registry.copies_dir()));  // the copy is gone again
  // A plugin built for ABI 1 (fixed-size step items and outputs) is refused too.
  const fs::path abi1 = variant_library("echo-abi1");
  CHECK(load_error_of(registry, "echo-abi1", abi1) ==
        "plugin echo-abi1 (" + abi1.string() + ") speaks ABI 1." + std::to_string(CITADEL_ABI_VERSION_MINOR) + ", host speaks " + host_abi);
}

TEST_CASE("a library without the entry symbol is refused naming the symbol", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  const std::string message = load_error_of(registry, "echo-noentry", variant_library("echo-noentry"));
  CHECK_THAT(message, Catch::Contains("plugin echo-noentry") &&
                          Catch::Contains("does not export citadel_plugin_entry"));
}

TEST_CASE("an unloadable or missing library file is refused with its path", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  const fs::path garbage = runtime.write("garbage/garbage.so", "this is not an ELF file");
  CHECK_THAT(load_error_of(registry, "garbage", garbage),
             Catch::Contains("plugin garbage (" + garbage.string() + "): cannot load the library"));
  CHECK_THAT(load_error_of(registry, "ghost", runtime.path() / "ghost.so"),
             Catch::Contains("library file not found"));
}

TEST_CASE("a plugin whose create fails is reported with the plugin's message", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  try {
    make_echo(registry, "echo-failcreate", R"({"fail_create": true})");
    FAIL("no error");
  } catch (const PluginLoadError& e) {
    CHECK_THAT(e.what(), Catch::Contains("model m-echo-failcreate") &&
                             Catch::Contains("create failed") && Catch::Contains("fail_create"));
  }
  CHECK_THROWS_WITH(make_echo(registry, "echo-v1", R"({"no_such_option": 1})"),
                    Catch::Contains("unknown option no_such_option"));
  // The library is closed again once nothing uses it.
  CHECK(registry.loaded().empty());
}

TEST_CASE("instances of an unchanged library share one copy, closed with the last instance",
          "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  auto first = make_echo(registry, "echo-v1");
  auto second = make_echo(registry, "echo-v1");
  REQUIRE(first->plugin() == second->plugin());
  const fs::path copy = first->plugin()->copy_path();
  CHECK(fs::exists(copy));
  CHECK(copy.parent_path() == registry.copies_dir());
  first.reset();
  CHECK(fs::exists(copy));
  second.reset();
  CHECK_FALSE(fs::exists(copy));
  CHECK(registry.loaded().empty());
}

TEST_CASE("a replaced .so is loaded from a fresh copy beside the old one", "[plugins]") {
  citadel::test::TempDir runtime;
  PluginRegistry registry(runtime.path(), nullptr);
  const fs::path library = runtime.path() / "plugins" / "echo" / "echo.so";
  fs::create_directories(library.parent_path());
  fs::copy_file(variant_library("echo-v1"), library);
  auto manifest = manifest_for("echo", library);

  auto old_instance = registry.create_instance(model_named("chat", "echo"), manifest,
                                               citadel::common::DeviceName{}, 1);
  CHECK(old_instance->plugin_version() == "1.0.0");
  CHECK(PluginRegistry::is_current(*old_instance->plugin(), manifest));

  fs::copy_file(variant_library("echo-v2"), library, fs::copy_options::overwrite_existing);
  fs::last_write_time(library, fs::last_write_time(library) + std::chrono::seconds(1));
  CHECK_FALSE(PluginRegistry::is_current(*old_instance->plugin(), manifest));

  auto new_instance = registry.create_instance(model_named("chat", "echo"), manifest,
                                               citadel::common::DeviceName{}, 2);
  CHECK(new_instance->plugin_version() == "2.0.0");
  CHECK(old_instance->plugin_version() == "1.0.0");  // still open and working
  CHECK(new_instance->plugin()->copy_path() != old_instance->plugin()->copy_path());
  CHECK(new_instance->generation() == 2);
}

TEST_CASE("plugin copies left by a dead process are removed at start", "[plugins]") {
  citadel::test::TempDir runtime;
  // pid 0x7ffffffe is never a live process here.
  const fs::path stale = runtime.write("plugin-copies/2147483646/old-1.so", "stale");
  PluginRegistry registry(runtime.path(), nullptr);
  CHECK_FALSE(fs::exists(stale.parent_path()));
  CHECK(fs::exists(registry.copies_dir()));
}
