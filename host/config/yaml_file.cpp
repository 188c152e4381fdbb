#include "host/config/yaml_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace citadel::config {
namespace {

// Offset of the first byte that is not part of valid UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF included), or npos.
std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) { ++i; continue; }
    const std::size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (lead < 0xc2 || lead > 0xf4 || i + length > text.size()) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    const unsigned char low = lead == 0xe0 ? 0xa0 : lead == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xed ? 0x9f : lead == 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<YAML::Node> load_yaml_file(const std::string& path, std::vector<ConfigProblem>& problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems.push_back(ConfigProblem{SourceLocation{path, 0}, "", std::string("cannot read the file: ") + std::strerror(errno)});
    return std::nullopt;
  }
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  // YAML is Unicode text; bytes that are not UTF-8 would reach the plugins'
  // JSON options and error messages as they are.
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    const auto end = text.begin() + static_cast<std::ptrdiff_t>(bad);
    const int line = 1 + static_cast<int>(std::count(text.begin(), end, '\n'));
    problems.push_back({{path, line}, "", "not valid UTF-8 (byte " + std::to_string(bad) + " of the file)"});
    return std::nullopt;
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& error) {
    const int line = error.mark.line >= 0 ? error.mark.line + 1 : 0;
    std::string message = "YAML syntax error";
    if (error.mark.column >= 0) message += " at column " + std::to_string(error.mark.column + 1);
    problems.push_back({{path, line}, "", message + ": " + error.msg});
    return std::nullopt;
  }
}

}  // namespace citadel::config
