// Strict reading of one YAML mapping of a config file: typed getters with
// range checks, unknown and duplicate keys reported, every problem recorded
// as "file:line: field: what" instead of thrown, so a file reports them all.
//
// Used by host_config_reader, plugin_manifest_reader and model_file_reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/config/config_error.h"

namespace citadel::config {

// Where problems of one file go.
struct ProblemSink {
  std::string file;
  std::vector<ConfigProblem>* problems = nullptr;
  void report(int line, std::string field, std::string message) const;
};

class YamlMapReader {
 public:
  // `prefix` is the dotted path of this mapping ("" for the top level,
  // "cache" for `cache:`), `line` where it starts. Reports (and reads nothing)
  // unless `node` is a mapping; reports unknown and duplicate keys.
  YamlMapReader(const ProblemSink& sink, const YAML::Node& node, std::string prefix, int start_line,
                const std::vector<std::string>& known_keys);

  bool valid() const { return valid_; }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const YAML::Node* find(const std::string& key) const;  // nullptr when absent
  int line(const std::string& key) const;                // the key's line (the map's if absent)
  std::string field(const std::string& key) const;       // "prefix.key"
  void report(const std::string& key, std::string message) const;
  const ProblemSink& sink() const { return sink_; }

  // Each returns true when the key is present and valid (then `out` is set);
  // false when absent (nothing reported) or invalid (reported).
  bool read_string(const std::string& key, std::string& out) const;  // any non-null scalar
  bool read_path(const std::string& key, const std::string& base_dir, std::string& out) const;
  bool read_unsigned(const std::string& key, uint64_t& out, uint64_t min, uint64_t max) const;
  bool read_unsigned(const std::string& key, uint32_t& out, uint32_t min, uint32_t max) const;
  // min < value (or <= when !min_exclusive) and value <= max.
  bool read_number(const std::string& key, double& out, double min, bool min_exclusive,
                   double max) const;
  bool read_choice(const std::string& key, std::string& out,
                   const std::vector<std::string>& choices) const;
  // A nested mapping; nullopt when absent or not a mapping (reported).
  std::optional<YamlMapReader> read_map(const std::string& key,
                                        const std::vector<std::string>& known_keys) const;

  // Missing key: reported at the mapping's line.
  void report_missing(const std::string& key) const;

 private:
  struct Entry {
    std::string key;
    int line = 0;
    YAML::Node value;
  };
  ProblemSink sink_;
  std::string prefix_;
  int line_ = 0;
  bool valid_ = false;
  std::vector<Entry> entries_;
};

// "/a/b" + "x/../c" -> "/a/b/c"; absolute paths only normalized.
std::string resolve_path(const std::string& base_dir, const std::string& path);

}  // namespace citadel::config
