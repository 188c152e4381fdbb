// The "pattern" of a tokenizer.json Replace step ({"String": ...} or
// {"Regex": ...}), compiled once. Used by the Replace normalizer
// (normalizer.cpp) and the Replace decoder (decoder.cpp); errors name `where`.
#pragma once

#include "runtime/text/regex.h"

#include <boost/json.hpp>

#include <memory>
#include <string>

namespace citadel::runtime {

std::unique_ptr<Pcre2Regex> read_replace_pattern(const boost::json::object& step, const std::string& where,
                                                 const std::string& source);

}  // namespace citadel::runtime
