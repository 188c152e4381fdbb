#include "host/config/yaml_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace citadel::config {

std::optional<YAML::Node> load_yaml_file(const std::string& path, std::vector<ConfigProblem>& problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back({{path, 0}, "", std::string("cannot read the file: ") + std::strerror(errno)});
    return std::nullopt;
  }
  std::stringstream content;
  content << in.rdbuf();
  try {
    return YAML::Load(content.str());
  } catch (const YAML::Exception& error) {
    const int line = error.mark.line >= 0 ? error.mark.line + 1 : 0;
    std::string message = "YAML syntax error";
    if (error.mark.column >= 0) message += " at column " + std::to_string(error.mark.column + 1);
    problems.push_back({{path, line}, "", message + ": " + error.msg});
    return std::nullopt;
  }
}

}  // namespace citadel::config
