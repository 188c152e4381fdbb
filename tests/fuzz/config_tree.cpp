// The valid configuration tree and the load-and-check step of the config
// fuzz targets.
#include "config_tree.hpp"

#include "fuzz_support.hpp"

#include "host/config/config_error.h"
#include "host/config/config_loader.h"

#include <cstdio>
#include <cstdlib>

namespace citadel::fuzz {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHostYaml =
    "admin:\n  socket: run/citadel.sock\n  mode: \"0600\"\n  max_line_bytes: 4096\n"
    "plugins_dir: plugins\nmodels_dir: models.d\nruntime_dir: run\n"
    "http:\n  listen: 127.0.0.1:8080\n  max_body_bytes: 1048576\n"
    "devices: [cpu]\ncpu_cache_mb: 64\nlog_level: info\n";

constexpr std::string_view kManifestYaml =
    "name: echo\nversion: 1.0.0\nlibrary: echo.so\ndescription: echo\n"
    "defaults:\n  cache:\n    size_mb: 16\n    eviction: lru\n    gc_threshold: 0.9\n"
    "  options:\n    delay_ms: 0\n";

constexpr std::string_view kModelYaml =
    "name: m\nplugin: echo\ndevice: cpu\n"
    "cache:\n  size_mb: 8\n  eviction: lfu\n"
    "scheduler:\n  max_queue: 16\n"
    "options:\n  nested: {a: 1}\n";

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "config fuzz finding: %s\n", what.c_str());
  std::abort();
}

}  // namespace

ConfigTree::ConfigTree() {
  const fs::path root = scratch_dir() / "config";
  fs::create_directories(root / "plugins" / "echo");
  fs::create_directories(root / "models.d");
  fs::create_directories(root / "run");
  host_file_ = root / "citadel.yaml";
  manifest_file_ = root / "plugins" / "echo" / "plugin.yaml";
  model_file_ = root / "models.d" / "model.yaml";
  write_file(host_file_, kHostYaml);
  write_file(manifest_file_, kManifestYaml);
  write_file(model_file_, kModelYaml);
  write_file(root / "plugins" / "echo" / "echo.so", "not a library; only its fingerprint is read");
}

void ConfigTree::load_with(const fs::path& file, std::string_view content) const {
  write_file(file, content);
  try {
    config::load_configuration(host_file_.string());
  } catch (const config::ConfigError& error) {
    if (error.problems().empty()) finding("ConfigError without problems");
    for (const config::ConfigProblem& problem : error.problems()) {
      if (problem.where.file.empty()) finding("problem without a file: " + problem.to_string());
    }
  }
  if (file == host_file_) write_file(file, kHostYaml);
  if (file == manifest_file_) write_file(file, kManifestYaml);
  if (file == model_file_) write_file(file, kModelYaml);
}

}  // namespace citadel::fuzz
