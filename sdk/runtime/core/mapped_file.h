// MappedFile: a whole file mapped read-only into memory (mmap), unmapped when
// the last shared owner goes away. Used by the safetensors reader so that
// tensors can be views into the file; errors name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace citadel::runtime {

class MappedFile {
 public:
  // Maps `path`; throws RuntimeError (CITADEL_ERR_IO) naming the file on failure.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace citadel::runtime
