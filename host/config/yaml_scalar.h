// YAML scalars typed the way YAML 1.2 (core schema) types them: a plain
// `5` is an integer, `true` a bool, `1.5` a float, `"5"` a string. yaml-cpp
// leaves scalars untyped; this resolves them, and converts YAML trees to JSON.
//
// Used by the config readers (yaml_map_reader, model_file_reader, ...) for
// strict type checks and to pass plugin `options:` to plugins as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"

namespace citadel::config {

enum class ScalarType { null, boolean, integer, unsigned_integer, floating, string };

struct ResolvedScalar {
  ScalarType type = ScalarType::null;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;  // integers above INT64_MAX
  double floating = 0.0;          // also set for integers
  std::string text;               // the scalar as written
};

// `node` must be a scalar or null.
ResolvedScalar resolve_scalar(const YAML::Node& node);

// "a mapping", "a list", "nothing", `"text"` for strings, the text for others:
// what follows "got" in a problem message.
std::string describe_value(const YAML::Node& node);

// 1-based line of a node, 0 when yaml-cpp does not know.
int line_of(const YAML::Node& node);

// Converts a YAML tree to JSON. Problems (non-scalar keys, inf/nan) are
// appended with `field` as the dotted path of the node.
boost::json::value yaml_to_json(const YAML::Node& node, const std::string& file,
                                const std::string& field, std::vector<ConfigProblem>& problems);

}  // namespace citadel::config
