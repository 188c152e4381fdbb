// Shared helpers for tests: temporary folders and paths into the build tree.
// Used by unit and integration tests alike.
#pragma once

#include <filesystem>
#include <string>

namespace citadel::test {

// A fresh folder under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/relative (creating folders) and returns the path.
  std::filesystem::path write(const std::string& relative, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

std::filesystem::path binary_dir();  // the CMake build folder
std::filesystem::path source_dir();  // the repository root

}  // namespace citadel::test
