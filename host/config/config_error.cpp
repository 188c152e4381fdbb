#include "host/config/config_error.h"

namespace citadel::config {

std::string ConfigProblem::to_string() const {
  std::string text = where.to_string() + ": ";
  if (!field.empty()) text += field + ": ";
  return text + message;
}

namespace {
std::string join_problems(const std::vector<ConfigProblem>& problems) {
  std::string text;
  for (const ConfigProblem& problem : problems) {
    if (!text.empty()) text += '\n';
    text += problem.to_string();
  }
  return text;
}
}  // namespace

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(join_problems(problems)), problems_(std::move(problems)) {}

}  // namespace citadel::config
