// Parsing of API key lines into hashed ApiKeyEntry records.
#include "host/config/api_key_file.h"

#include "host/common/sha256.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace citadel::config {
namespace {

constexpr size_t kMinKeyLength = 16;
constexpr size_t kMaxKeyLength = 512;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  std::string word;
  while (in >> word) words.push_back(word);
  return words;
}

bool is_field_word(const std::string& word) {
  return word.starts_with("models=") || word.starts_with("rpm=") || word.starts_with("scope=");
}

// The problems of one entry go here, with the entry's line.
struct EntryReader {
  const std::string& source;
  int line;
  std::vector<ConfigProblem>& problems;
  void report(const std::string& field, const std::string& message) const {
    problems.push_back({{source, line}, field, message});
  }
};

bool read_key(const EntryReader& reader, const std::string& key) {
  if (is_field_word(key)) {
    reader.report("key", "each line starts with the key, then its fields");
    return false;
  }
  if (key.size() < kMinKeyLength || key.size() > kMaxKeyLength) {
    reader.report("key", "a key has " + std::to_string(kMinKeyLength) + " to " +
                             std::to_string(kMaxKeyLength) + " characters (this one has " +
                             std::to_string(key.size()) + ")");
    return false;
  }
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) {
      reader.report("key", "a key is printable ASCII without spaces");
      return false;
    }
  }
  return true;
}

void read_field(const EntryReader& reader, const std::string& word, ApiKeyEntry& entry) {
  const size_t equals = word.find('=');
  if (equals == std::string::npos || equals == 0) {
    reader.report("", "expected field=value after the key (got \"" + word + "\")");
    return;
  }
  const std::string name = word.substr(0, equals);
  const std::string value = word.substr(equals + 1);
  if (name == "models") {
    if (value == "*") return;  // every model (the default)
    for (const std::string& model : split(value, ',')) {
      if (model.empty()) {
        reader.report("models", "a comma-separated list of model names, or * (got \"" + value + "\")");
        return;
      }
      entry.models.push_back(model);
    }
    if (entry.models.empty())
      reader.report("models", "a comma-separated list of model names, or * (got \"\")");
  } else if (name == "rpm") {
    const bool digits = !value.empty() && value.size() <= 9 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      reader.report("rpm", "requests per minute: a whole number, 0 for unlimited (got \"" + value + "\")");
      return;
    }
    entry.requests_per_minute = static_cast<uint32_t>(std::stoul(value));
  } else if (name == "scope") {
    if (value != "user" && value != "admin") {
      reader.report("scope", "must be user or admin (got \"" + value + "\")");
      return;
    }
    entry.admin = value == "admin";
  } else {
    reader.report(name, "unknown field (expected models, rpm or scope)");
  }
}

}  // namespace

std::vector<ApiKeyEntry> parse_api_keys(const std::string& text, const std::string& source,
                                        bool semicolons_separate,
                                        std::vector<ConfigProblem>& problems) {
  std::vector<ApiKeyEntry> entries;
  std::vector<std::pair<common::Sha256Digest, int>> seen;  // every key read, valid fields or not
  int line_number = 0;
  for (const std::string& raw_line : split(text, '\n')) {
    ++line_number;
    std::vector<std::string> lines{raw_line};
    if (semicolons_separate) lines = split(raw_line, ';');
    for (std::string line : lines) {
      if (const size_t hash = line.find('#'); hash != std::string::npos &&
                                              (hash == 0 || std::isspace(static_cast<unsigned char>(line[hash - 1]))))
        line.erase(hash);
      const std::vector<std::string> words = split_words(line);
      if (words.empty()) continue;
      const EntryReader reader{source, line_number, problems};
      const size_t problems_before = problems.size();
      if (!read_key(reader, words.front())) continue;
      ApiKeyEntry entry;
      entry.digest = common::sha256(words.front());
      entry.id = common::digest_hex(entry.digest, 4);
      entry.where = {source, line_number};
      for (size_t index = 1; index < words.size(); ++index) read_field(reader, words[index], entry);
      const auto same = std::find_if(seen.begin(), seen.end(), [&](const auto& other) {
        return common::digests_equal(other.first, entry.digest);
      });
      if (same != seen.end()) {
        reader.report("key", "the same key as on line " + std::to_string(same->second) +
                                 " (key id " + entry.id + ")");
        continue;
      }
      seen.emplace_back(entry.digest, line_number);
      if (problems.size() == problems_before) entries.push_back(std::move(entry));
    }
  }
  return entries;
}

std::vector<ApiKeyEntry> read_api_key_file(const std::string& path,
                                           std::vector<ConfigProblem>& problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back(
        ConfigProblem{SourceLocation{path, 0}, "", std::string("cannot read the API keys file: ") + std::strerror(errno)});
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_api_keys(text.str(), path, false, problems);
}

}  // namespace citadel::config
