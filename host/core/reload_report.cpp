#include "host/core/reload_report.h"

#include <boost/json.hpp>

namespace citadel::core {
namespace {

boost::json::array to_array(const std::vector<std::string>& items) {
  boost::json::array array;
  for (const std::string& item : items) array.emplace_back(item);
  return array;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ",") + item;
  return text.empty() ? "-" : text;
}

}  // namespace

boost::json::object ReloadReport::to_json() const {
  boost::json::object object;
  object["generation"] = generation;
  object["ok"] = ok;
  object["trigger"] = trigger;
  object["added"] = to_array(added);
  object["removed"] = to_array(removed);
  object["changed"] = to_array(changed);
  object["errors"] = to_array(errors);
  object["warnings"] = to_array(warnings);
  object["duration_ms"] = duration_ms;
  object["finished_unix_ms"] = finished_unix_ms;
  return object;
}

std::string ReloadReport::summary() const {
  if (!ok) {
    return "reload (" + trigger + ") rejected with " + std::to_string(errors.size()) +
           " error(s); generation " + std::to_string(generation) + " keeps serving";
  }
  return "reload (" + trigger + ") -> generation " + std::to_string(generation) + ": added " +
         join(added) + ", removed " + join(removed) + ", changed " + join(changed) + " in " +
         std::to_string(static_cast<int64_t>(duration_ms)) + " ms";
}

}  // namespace citadel::core
