#include "host/config/yaml_map_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "host/config/yaml_scalar.h"

namespace citadel::config {
namespace {

// Edit distance, for "did you mean" hints on misspelled keys.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known) {
  std::string closest;
  std::size_t best = 3;  // suggest only near misses
  for (const std::string& candidate : known) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best) {
      best = distance;
      closest = candidate;
    }
  }
  if (!closest.empty()) return "unknown key (did you mean \"" + closest + "\"?)";
  std::string list;
  for (const std::string& candidate : known) list += (list.empty() ? "" : ", ") + candidate;
  return "unknown key (expected one of: " + list + ")";
}

std::string format_number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

}  // namespace

void ProblemSink::report(int line, std::string field, std::string message) const {
  problems->push_back(ConfigProblem{SourceLocation{file, line}, std::move(field), std::move(message)});
}

YamlMapReader::YamlMapReader(const ProblemSink& sink, const YAML::Node& node, std::string prefix,
                             int start_line, const std::vector<std::string>& known_keys)
    : sink_(sink), prefix_(std::move(prefix)), line_(start_line) {
  if (!node.IsMap()) {
    sink_.report(line_, prefix_,
                 std::string(prefix_.empty() ? "the file" : "the value") +
                     " must be a mapping of keys (got " + describe_value(node) + ")");
    return;
  }
  valid_ = true;
  for (const auto& pair : node) {
    const int key_line = line_of(pair.first);
    if (!pair.first.IsScalar()) {
      sink_.report(key_line, prefix_, "keys must be plain strings (got " + describe_value(pair.first) + ")");
      continue;
    }
    const std::string key = pair.first.Scalar();
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
      sink_.report(key_line, field(key), unknown_key_message(key, known_keys));
      continue;
    }
    if (find(key) != nullptr) {
      sink_.report(key_line, field(key), "duplicate key (first set on line " + std::to_string(line(key)) + ")");
      continue;
    }
    entries_.push_back(Entry{key, key_line, pair.second});
  }
}

const YAML::Node* YamlMapReader::find(const std::string& key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}

int YamlMapReader::line(const std::string& key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) return entry.line;
  }
  return line_;
}

std::string YamlMapReader::field(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

void YamlMapReader::report(const std::string& key, std::string message) const {
  sink_.report(line(key), field(key), std::move(message));
}

void YamlMapReader::report_missing(const std::string& key) const {
  sink_.report(line_, field(key), "required key is missing");
}

bool YamlMapReader::read_string(const std::string& key, std::string& out) const {
  const YAML::Node* value = find(key);
  if (value == nullptr) return false;
  if (!value->IsScalar()) {
    report(key, "must be a string (got " + describe_value(*value) + ")");
    return false;
  }
  out = value->Scalar();
  return true;
}

bool YamlMapReader::read_path(const std::string& key, const std::string& base_dir, std::string& out) const {
  std::string text;
  if (!read_string(key, text)) return false;
  if (text.empty()) {
    report(key, "must be a path (got an empty string)");
    return false;
  }
  out = resolve_path(base_dir, text);
  return true;
}

bool YamlMapReader::read_unsigned(const std::string& key, uint64_t& out, uint64_t min, uint64_t max) const {
  const YAML::Node* value = find(key);
  if (value == nullptr) return false;
  std::string range;
  if (max == UINT64_MAX) {
    range = " >= " + std::to_string(min);
  } else {
    range = " between " + std::to_string(min) + " and " + std::to_string(max);
  }
  const std::string expected = "must be an integer" + range + " (got " + describe_value(*value) + ")";
  if (!value->IsScalar()) {
    report(key, expected);
    return false;
  }
  const ResolvedScalar scalar = resolve_scalar(*value);
  uint64_t number = 0;
  if (scalar.type == ScalarType::integer && scalar.integer >= 0) {
    number = static_cast<uint64_t>(scalar.integer);
  } else if (scalar.type == ScalarType::unsigned_integer) {
    number = scalar.unsigned_integer;
  } else {
    report(key, expected);
    return false;
  }
  if (number < min || number > max) {
    report(key, expected);
    return false;
  }
  out = number;
  return true;
}

bool YamlMapReader::read_unsigned(const std::string& key, uint32_t& out, uint32_t min, uint32_t max) const {
  uint64_t wide = 0;
  if (!read_unsigned(key, wide, min, max)) return false;
  out = static_cast<uint32_t>(wide);
  return true;
}

bool YamlMapReader::read_number(const std::string& key, double& out, double min, bool min_exclusive,
                                double max) const {
  const YAML::Node* value = find(key);
  if (value == nullptr) return false;
  std::string range;
  if (std::isinf(max)) {
    range = (min_exclusive ? " > " : " >= ") + format_number(min);
  } else {
    range = std::string(" in ") + (min_exclusive ? "(" : "[") + format_number(min) + ", " +
            format_number(max) + "]";
  }
  const std::string expected = "must be a number" + range + " (got " + describe_value(*value) + ")";
  if (!value->IsScalar()) {
    report(key, expected);
    return false;
  }
  const ResolvedScalar scalar = resolve_scalar(*value);
  const bool numeric = scalar.type == ScalarType::integer ||
                       scalar.type == ScalarType::unsigned_integer ||
                       scalar.type == ScalarType::floating;
  const double number = scalar.floating;
  if (!numeric || std::isnan(number) || number > max || number < min ||
      (min_exclusive && number == min)) {
    report(key, expected);
    return false;
  }
  out = number;
  return true;
}

bool YamlMapReader::read_choice(const std::string& key, std::string& out,
                                const std::vector<std::string>& choices) const {
  const YAML::Node* value = find(key);
  if (value == nullptr) return false;
  if (value->IsScalar() &&
      std::find(choices.begin(), choices.end(), value->Scalar()) != choices.end()) {
    out = value->Scalar();
    return true;
  }
  std::string list;
  for (const std::string& choice : choices) list += (list.empty() ? "" : ", ") + choice;
  report(key, "must be one of " + list + " (got " + describe_value(*value) + ")");
  return false;
}

std::optional<YamlMapReader> YamlMapReader::read_map(const std::string& key,
                                                     const std::vector<std::string>& known_keys) const {
  const YAML::Node* value = find(key);
  if (value == nullptr) return std::nullopt;
  YamlMapReader nested(sink_, *value, field(key), line(key), known_keys);
  if (!nested.valid()) return std::nullopt;
  return nested;
}

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  std::filesystem::path resolved(path);
  if (resolved.is_relative()) resolved = std::filesystem::path(base_dir) / resolved;
  return resolved.lexically_normal().string();
}

}  // namespace citadel::config
