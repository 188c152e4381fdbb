// GgufFile: parsing and validation of the header, metadata and tensor infos
// over the mapped bytes (a bounds-checked cursor), and the typed getters.
#include "runtime/formats/gguf_file.h"

#include "runtime/core/error.h"

#include <cstring>
#include <limits>

namespace citadel::runtime {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;

// Reads little-endian values from the mapping; every read is bounds-checked
// and a failure names the file, the offset and what was being read.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, std::string file) : data_(data), size_(size), file_(std::move(file)) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }
  const std::string& file() const { return file_; }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  std::string read_string(const std::string& what) {
    const uint64_t length = read<uint64_t>(what + " (length)");
    need(length, what);
    std::string text(reinterpret_cast<const char*>(data_ + offset_), length);
    offset_ += length;
    return text;
  }
  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > remaining()) {
      throw_invalid(file_ + ": truncated GGUF file: " + what + " needs " + std::to_string(bytes) +
                    " bytes at offset " + std::to_string(offset_) + ", the file has " + std::to_string(remaining()) +
                    " left");
    }
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t offset_ = 0;
  std::string file_;
};

// Smallest encoded size of one element of `type` (to bound array counts).
uint64_t min_element_bytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::boolean: return 1;
    case GgufValueType::u16: case GgufValueType::i16: return 2;
    case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::f32: return 4;
    case GgufValueType::string: return 8;
    case GgufValueType::array: return 12;
    default: return 8;
  }
}

GgufValue read_value(Cursor& cursor, uint32_t type, const std::string& what, int depth) {
  switch (static_cast<GgufValueType>(type)) {
    case GgufValueType::u8: return GgufValue::unsigned_integer(GgufValueType::u8, cursor.read<uint8_t>(what));
    case GgufValueType::i8: return GgufValue::signed_integer(GgufValueType::i8, cursor.read<int8_t>(what));
    case GgufValueType::u16: return GgufValue::unsigned_integer(GgufValueType::u16, cursor.read<uint16_t>(what));
    case GgufValueType::i16: return GgufValue::signed_integer(GgufValueType::i16, cursor.read<int16_t>(what));
    case GgufValueType::u32: return GgufValue::unsigned_integer(GgufValueType::u32, cursor.read<uint32_t>(what));
    case GgufValueType::i32: return GgufValue::signed_integer(GgufValueType::i32, cursor.read<int32_t>(what));
    case GgufValueType::u64: return GgufValue::unsigned_integer(GgufValueType::u64, cursor.read<uint64_t>(what));
    case GgufValueType::i64: return GgufValue::signed_integer(GgufValueType::i64, cursor.read<int64_t>(what));
    case GgufValueType::f32: return GgufValue::floating(GgufValueType::f32, cursor.read<float>(what));
    case GgufValueType::f64: return GgufValue::floating(GgufValueType::f64, cursor.read<double>(what));
    case GgufValueType::boolean: {
      const uint8_t byte = cursor.read<uint8_t>(what);
      if (byte > 1) throw_invalid(what + " is a BOOL with byte value " + std::to_string(byte) + " (must be 0 or 1)");
      return GgufValue::boolean(byte != 0);
    }
    case GgufValueType::string: return GgufValue::string(cursor.read_string(what));
    case GgufValueType::array: {
      if (depth >= kMaxArrayDepth) throw_invalid(what + " nests arrays deeper than " + std::to_string(kMaxArrayDepth));
      const uint32_t element = cursor.read<uint32_t>(what + " (array element type)");
      if (element > static_cast<uint32_t>(GgufValueType::f64)) {
        throw_invalid(what + " is an array of unknown value type " + std::to_string(element));
      }
      const uint64_t count = cursor.read<uint64_t>(what + " (array length)");
      const uint64_t element_bytes = min_element_bytes(static_cast<GgufValueType>(element));
      if (count > cursor.remaining() / element_bytes) {
        throw_invalid(what + " claims " + std::to_string(count) + " " + gguf_value_type_name(element) +
                      " elements, more than the " + std::to_string(cursor.remaining()) + " bytes left can hold");
      }
      std::vector<GgufValue> items;
      items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        items.push_back(read_value(cursor, element, what + "[" + std::to_string(i) + "]", depth + 1));
      }
      return GgufValue::array(static_cast<GgufValueType>(element), std::move(items));
    }
  }
  throw_invalid(what + " has unknown value type " + std::to_string(type));
}

}  // namespace

int64_t GgufTensorInfo::rows() const {
  int64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  return rows;
}

Shape GgufTensorInfo::shape() const { return Shape(dims.rbegin(), dims.rend()); }

GgufFile::GgufFile(const std::filesystem::path& path) : file_(MappedFile::open(path)) { parse(); }

void GgufFile::parse() {
  const std::string name = file_->path().string();
  Cursor cursor(file_->data(), file_->size(), name);
  const uint32_t magic = cursor.read<uint32_t>("the GGUF magic");
  if (magic != kMagic) throw_invalid(name + ": not a GGUF file (the first 4 bytes are not \"GGUF\")");
  version_ = cursor.read<uint32_t>("the GGUF version");
  if (version_ != 2 && version_ != 3) {
    const bool swapped = version_ == 0x02000000u || version_ == 0x03000000u;
    throw_invalid(name + ": GGUF version " + std::to_string(version_) +
                  (swapped ? " (a big-endian file; only little-endian GGUF is supported)"
                           : " is not supported (2 and 3 are)"));
  }
  const uint64_t tensor_count = cursor.read<uint64_t>("the tensor count");
  const uint64_t kv_count = cursor.read<uint64_t>("the metadata count");
  if (kv_count > cursor.remaining() / 12) {
    throw_invalid(name + ": header claims " + std::to_string(kv_count) + " metadata entries, more than the file holds");
  }
  for (uint64_t i = 0; i < kv_count; ++i) {
    const std::string key = cursor.read_string("the key of metadata entry " + std::to_string(i));
    const std::string what = key_context(key);
    const uint32_t type = cursor.read<uint32_t>(what + " (value type)");
    GgufValue value = read_value(cursor, type, what, 0);
    if (!metadata_index_.emplace(key, metadata_.size()).second) throw_invalid(what + " appears twice");
    metadata_.emplace_back(key, std::move(value));
  }
  if (const GgufValue* alignment = find("general.alignment")) {
    const std::string what = key_context("general.alignment");
    if (alignment->type() != GgufValueType::u32) throw_invalid(what + " must be UINT32");
    alignment_ = alignment->to_uint(what);
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0) {
      throw_invalid(what + " is " + std::to_string(alignment_) + ", not a power of two");
    }
  }
  if (tensor_count > cursor.remaining() / 24) {
    throw_invalid(name + ": header claims " + std::to_string(tensor_count) + " tensors, more than the file holds");
  }
  tensors_.resize(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo& tensor = tensors_[i];
    tensor.name = cursor.read_string("the name of tensor " + std::to_string(i));
    const std::string what = name + ": tensor '" + tensor.name + "'";
    const uint32_t n_dims = cursor.read<uint32_t>(what + " (dimension count)");
    if (n_dims == 0 || n_dims > kMaxDims) {
      throw_invalid(what + " has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = cursor.read<uint64_t>(what + " (dimension " + std::to_string(d) + ")");
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elements) {
        throw_invalid(what + " has dimension " + std::to_string(d) + " = " + std::to_string(dim) +
                      (dim == 0 ? " (empty)" : ": the element count overflows"));
      }
      elements *= dim;
      tensor.dims.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t type = cursor.read<uint32_t>(what + " (type)");
    const GgmlTypeTraits traits = ggml_type_traits(type);
    if (traits.name == nullptr) {
      throw_unsupported(what + " has ggml type " + ggml_type_name(type) + " (" + std::to_string(type) +
                        "); supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K");
    }
    tensor.type = static_cast<GgmlType>(type);
    if (tensor.dims[0] % traits.block_size != 0) {
      throw_invalid(what + " has rows of " + std::to_string(tensor.dims[0]) + " values, not whole " + traits.name +
                    " blocks of " + std::to_string(traits.block_size));
    }
    const uint64_t blocks = elements / static_cast<uint64_t>(traits.block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(traits.type_size)) {
      throw_invalid(what + " has " + std::to_string(elements) + " " + traits.name +
                    " values: the byte count overflows");
    }
    tensor.nbytes = blocks * static_cast<uint64_t>(traits.type_size);
    tensor.offset = cursor.read<uint64_t>(what + " (data offset)");
    if (tensor.offset % alignment_ != 0) {
      throw_invalid(what + " has data offset " + std::to_string(tensor.offset) + ", not a multiple of the alignment " +
                    std::to_string(alignment_));
    }
    if (!tensor_index_.emplace(tensor.name, i).second) throw_invalid(what + " appears twice");
  }
  data_offset_ = (cursor.offset() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t data_size = file_->size() >= data_offset_ ? file_->size() - data_offset_ : 0;
  for (GgufTensorInfo& tensor : tensors_) {
    if (tensor.offset > data_size || tensor.nbytes > data_size - tensor.offset) {
      throw_invalid(name + ": tensor '" + tensor.name + "' (" + std::to_string(tensor.nbytes) + " bytes at data offset " +
                    std::to_string(tensor.offset) + ") runs past the end of the file (data section of " +
                    std::to_string(data_size) + " bytes): truncated or corrupt");
    }
    tensor.data = file_->data() + data_offset_ + tensor.offset;
  }
}

std::string GgufFile::key_context(const std::string& key) const {
  return file_->path().string() + ": metadata key '" + key + "'";
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto found = metadata_index_.find(key);
  return found == metadata_index_.end() ? nullptr : &metadata_[found->second].second;
}

const GgufValue& GgufFile::value(const std::string& key) const {
  const GgufValue* found = find(key);
  if (found == nullptr) throw_not_found(key_context(key) + " is missing");
  return *found;
}

std::string GgufFile::get_string(const std::string& key, std::optional<std::string> fallback) const {
  if (fallback && !has(key)) return *fallback;
  return value(key).to_string(key_context(key));
}

uint64_t GgufFile::get_uint(const std::string& key, std::optional<uint64_t> fallback) const {
  if (fallback && !has(key)) return *fallback;
  return value(key).to_uint(key_context(key));
}

double GgufFile::get_double(const std::string& key, std::optional<double> fallback) const {
  if (fallback && !has(key)) return *fallback;
  return value(key).to_double(key_context(key));
}

bool GgufFile::get_bool(const std::string& key, std::optional<bool> fallback) const {
  if (fallback && !has(key)) return *fallback;
  return value(key).to_bool(key_context(key));
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const std::string what = key_context(key);
  std::vector<std::string> out;
  const auto& items = value(key).items(what);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) out.push_back(items[i].to_string(what + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<double> GgufFile::get_double_array(const std::string& key) const {
  const std::string what = key_context(key);
  std::vector<double> out;
  for (const GgufValue& item : value(key).items(what)) out.push_back(item.to_double(what + " element"));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const std::string what = key_context(key);
  std::vector<int64_t> out;
  for (const GgufValue& item : value(key).items(what)) out.push_back(item.to_int(what + " element"));
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto found = tensor_index_.find(name);
  return found == tensor_index_.end() ? nullptr : &tensors_[found->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* found = find_tensor(name);
  if (found == nullptr) throw_not_found(file_->path().string() + ": missing tensor '" + name + "'");
  return *found;
}

Tensor GgufFile::dense_tensor(const std::string& name) const {
  const GgufTensorInfo& info = tensor(name);
  DType dtype = DType::f32;
  switch (info.type) {
    case GgmlType::f32: dtype = DType::f32; break;
    case GgmlType::f16: dtype = DType::f16; break;
    case GgmlType::bf16: dtype = DType::bf16; break;
    default:
      throw_invalid(file_->path().string() + ": tensor '" + name + "' is " +
                    ggml_type_name(static_cast<uint32_t>(info.type)) + ", expected F32, F16 or BF16");
  }
  return Tensor::view(dtype, info.shape(), const_cast<uint8_t*>(info.data), file_);
}

GgmlMatrix GgufFile::matrix(const std::string& name) const {
  const GgufTensorInfo& info = tensor(name);
  return GgmlMatrix{info.type, info.rows(), info.cols(), info.data};
}

}  // namespace citadel::runtime
