// Configuration problems: one ConfigProblem per thing wrong in a file, and
// ConfigError, thrown by load_configuration with all of them at once.
//
// Thrown by host/config (config_loader.h); caught by main (start-up) and the
// reload path (host/core), which log problems() one line each.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "host/config/model_config.h"

namespace citadel::config {

struct ConfigProblem {
  SourceLocation where;  // file and 1-based line (0: unknown)
  std::string field;     // dotted key path ("cache.eviction"); empty for syntax errors
  std::string message;   // what is wrong
  // "file:line: field: message" ("file:line: message" without a field).
  std::string to_string() const;
};

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigProblem> problems);
  const std::vector<ConfigProblem>& problems() const { return problems_; }

 private:
  std::vector<ConfigProblem> problems_;
};

}  // namespace citadel::config
