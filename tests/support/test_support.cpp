#include "support/test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace citadel::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "citadel-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::string& relative, const std::string& content) const {
  const std::filesystem::path target = path_ / relative;
  std::filesystem::create_directories(target.parent_path());
  std::ofstream out(target, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + target.string());
  return target;
}

std::filesystem::path binary_dir() { return CITADEL_BINARY_DIR; }
std::filesystem::path source_dir() { return CITADEL_SOURCE_DIR; }

}  // namespace citadel::test
