// See replace_pattern.h.
#include "runtime/text/replace_pattern.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

namespace citadel::runtime {

std::unique_ptr<Pcre2Regex> read_replace_pattern(const boost::json::object& step, const std::string& where,
                                                 const std::string& source) {
  const auto* pattern = step.if_contains("pattern");
  if (pattern == nullptr || !pattern->is_object()) throw_invalid(where + ": Replace needs a \"pattern\" object");
  if (auto literal = optional_string(pattern->get_object(), "String", where + ".pattern")) {
    if (literal->empty()) throw_invalid(where + ": Replace pattern is empty");
    return std::make_unique<Pcre2Regex>(*literal, true, source);
  }
  if (auto regex = optional_string(pattern->get_object(), "Regex", where + ".pattern")) {
    return std::make_unique<Pcre2Regex>(*regex, false, source);
  }
  throw_invalid(where + ": Replace pattern needs \"String\" or \"Regex\"");
}

}  // namespace citadel::runtime
