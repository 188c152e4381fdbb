// Safetensors reading (mmap, zero-copy tensor views where the data is aligned)
// and writing.
// SafetensorsFile is one .safetensors file: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__"},
// then the data. Offsets and sizes are validated at open; errors name the
// file and the tensor. SafetensorsCheckpoint is a Hugging Face model folder:
// one model.safetensors, or shards listed in model.safetensors.index.json
// (weight_map). Used by plugins' weight loaders and by tests.
#pragma once

#include "runtime/core/mapped_file.h"
#include "runtime/core/tensor.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace citadel::runtime {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t data_begin = 0;  // byte offsets relative to the data section
  uint64_t data_end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws RuntimeError naming file (and tensor).
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted
  // Throws CITADEL_ERR_NOT_FOUND naming the file and tensor when absent.
  const SafetensorsEntry& entry(const std::string& name) const;
  // A view into the mapping (kept alive by the tensor); a tensor whose data
  // is not aligned to its element size in the file is copied into aligned
  // memory instead, so typed access (Tensor::data_as) is always valid.
  Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<MappedFile> file_;
  const uint8_t* data_section_ = nullptr;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

class SafetensorsCheckpoint {
 public:
  // `directory` holds model.safetensors or model.safetensors.index.json
  // (diffusers: diffusion_pytorch_model.safetensors[.index.json]).
  // A path to a single .safetensors file is accepted too.
  explicit SafetensorsCheckpoint(const std::filesystem::path& directory);

  const std::filesystem::path& directory() const { return directory_; }
  bool has(const std::string& name) const { return owner_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted
  const SafetensorsEntry& entry(const std::string& name) const;
  // Throws CITADEL_ERR_NOT_FOUND naming the checkpoint folder and the tensor.
  Tensor tensor(const std::string& name) const;
  // The file that holds `name`.
  const std::filesystem::path& file_of(const std::string& name) const;
  // Metadata of the first shard.
  const std::map<std::string, std::string>& metadata() const;
  size_t num_files() const { return files_.size(); }

 private:
  const SafetensorsFile& file_for(const std::string& name) const;

  std::filesystem::path directory_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> owner_;  // tensor name -> index into files_
};

// Writes tensors (in the given order) and optional metadata to `path`.
// For tests, tools and plugins that cache converted weights.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace citadel::runtime
