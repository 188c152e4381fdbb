// A whole configuration on disk for the config fuzz targets: citadel.yaml,
// plugins/echo/plugin.yaml (with an echo.so file beside it) and
// models.d/model.yaml in a scratch folder, each valid to start with. A
// target puts its input in place of one file and loads the tree with
// config::load_configuration, exactly as the host does at start and on
// reload; the valid file is restored afterwards.
//
// Used by config_host_fuzz.cpp, config_model_fuzz.cpp, plugin_manifest_fuzz.cpp.
#pragma once

#include <filesystem>
#include <string_view>

namespace citadel::fuzz {

class ConfigTree {
 public:
  ConfigTree();  // writes the valid files; load(...) of them succeeds

  const std::filesystem::path& host_file() const { return host_file_; }
  const std::filesystem::path& manifest_file() const { return manifest_file_; }
  const std::filesystem::path& model_file() const { return model_file_; }

  // Replaces `file` with `content` and loads the configuration. Returns when
  // it loads or throws config::ConfigError whose problems all name a file of
  // the tree; anything else (another exception, a problem without a file)
  // aborts, so libFuzzer keeps the input.
  void load_with(const std::filesystem::path& file, std::string_view content) const;

 private:
  std::filesystem::path host_file_;
  std::filesystem::path manifest_file_;
  std::filesystem::path model_file_;
};

}  // namespace citadel::fuzz
