// GgufFile: a GGUF model file (llama.cpp / Ollama format, versions 2 and 3,
// little-endian) mapped read-only: the header, the metadata key/values (every
// GGUF value type, arrays of arrays included), the tensor infos, and the
// tensor data as views into the mapping (no copy, no conversion).
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 key/value count; each
// key/value a string key (u64 length + bytes), a u32 value type and the
// value (arrays: u32 element type, u64 count, elements); each tensor info a
// string name, u32 dimension count (1..4), u64 dims (ne[0] = the contiguous
// row length first), u32 ggml type, u64 offset into the data section; the
// data section starts at the next multiple of general.alignment (u32,
// default 32) and every tensor offset is a multiple of it.
//
// Everything is checked when the file is opened: a truncated file, a string
// or array running past the end, counts that overflow, an unknown value or
// tensor type, a row length that is not whole blocks, a tensor outside the
// data section or misaligned, duplicate keys or tensor names; each error
// (RuntimeError, INVALID_ARGUMENT / IO / NOT_FOUND) names the file and the
// key or tensor. Used by llm-gptq's GGUF loader, the tests and the tools'
// C++ counterparts. Immutable after construction (thread-safe reads).
#pragma once

#include "runtime/core/mapped_file.h"
#include "runtime/core/tensor.h"
#include "runtime/formats/gguf_value.h"
#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::runtime {

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::f32;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the row length (ne[0])
  uint64_t offset = 0;        // into the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
  int64_t rows() const;  // product of dims[1..]
  // Row-major shape as torch/numpy see it (dims reversed), e.g. [out, in].
  Shape shape() const;
};

class GgufFile {
 public:
  // Maps and validates `path`; throws RuntimeError naming the file.
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }
  // Typed getters: throw NOT_FOUND (missing, no fallback) or
  // INVALID_ARGUMENT (wrong type or range) naming the file and key.
  const GgufValue& value(const std::string& key) const;
  std::string get_string(const std::string& key, std::optional<std::string> fallback = std::nullopt) const;
  uint64_t get_uint(const std::string& key, std::optional<uint64_t> fallback = std::nullopt) const;
  double get_double(const std::string& key, std::optional<double> fallback = std::nullopt) const;
  bool get_bool(const std::string& key, std::optional<bool> fallback = std::nullopt) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<double> get_double_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;
  // "<file>: metadata key '<key>'", the start of every metadata error.
  std::string key_context(const std::string& key) const;

  // Tensors in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // Throws NOT_FOUND naming the file and tensor.
  const GgufTensorInfo& tensor(const std::string& name) const;
  // An F32/F16/BF16 tensor as a runtime Tensor view (shape reversed);
  // throws INVALID_ARGUMENT naming the tensor for quantized types.
  Tensor dense_tensor(const std::string& name) const;
  // Any readable tensor as a [rows, cols] ggml matrix view.
  GgmlMatrix matrix(const std::string& name) const;
  // The mapping, for views that must keep the file alive.
  std::shared_ptr<const MappedFile> mapping() const { return file_; }

 private:
  void parse();

  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace citadel::runtime
