// ReloadReport: what one reload did — its generation, whether it took effect,
// which models were added/removed/changed, the errors that stopped it (one
// "file:line: field: what" line each), warnings, and how long it took.
//
// Produced by ReloadCoordinator; shown by the admin `reload` and `status`
// commands (to_json) and logged.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::core {

struct ReloadReport {
  uint64_t generation = 0;  // the generation serving after this reload
  bool ok = false;          // false: nothing changed, `errors` says why
  std::string trigger;      // "startup", "SIGHUP", "admin", "load", "unload"
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  double duration_ms = 0;
  int64_t finished_unix_ms = 0;

  boost::json::object to_json() const;
  std::string summary() const;  // one log line
};

}  // namespace citadel::core
