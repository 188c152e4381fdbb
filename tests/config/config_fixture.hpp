// A configuration tree in a temporary folder for the config tests:
// etc/citadel.yaml, plugins/<name>/plugin.yaml + <name>.so, etc/models.d/*.
#pragma once

#include <string>

#include "host/config/config_error.h"
#include "host/config/config_loader.h"
#include "support/test_support.hpp"

namespace citadel::test {

class ConfigFixture {
 public:
  ConfigFixture() {
    write_host("plugins_dir: ../plugins\nmodels_dir: models.d\n");
    dir.write("etc/models.d/.keep", "");
  }
  std::string host_path() const { return (dir.path() / "etc/citadel.yaml").string(); }
  std::string path(const std::string& relative) const { return (dir.path() / relative).string(); }

  void write_host(const std::string& yaml) const { dir.write("etc/citadel.yaml", yaml); }
  // A plugin folder with a manifest and a (fake) library file.
  void write_plugin(const std::string& name, const std::string& manifest_yaml,
                    const std::string& library_bytes = "\x7f" "ELF fake library") const {
    dir.write("plugins/" + name + "/plugin.yaml", manifest_yaml);
    dir.write("plugins/" + name + "/" + name + ".so", library_bytes);
  }
  void write_model(const std::string& file_name, const std::string& yaml) const {
    dir.write("etc/models.d/" + file_name, yaml);
  }
  config::Configuration load() const { return config::load_configuration(host_path()); }

  // The problems of a load that must fail, one "file:line: field: what" per entry.
  std::vector<std::string> problems() const {
    try {
      load();
    } catch (const config::ConfigError& error) {
      std::vector<std::string> lines;
      for (const auto& problem : error.problems()) lines.push_back(problem.to_string());
      return lines;
    }
    return {};
  }

  TempDir dir;
};

}  // namespace citadel::test
