// Safetensors reader (header parse + validation) and writer.
#include "runtime/formats/safetensors.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

namespace citadel::runtime {
namespace json = boost::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // as the reference implementation

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

SafetensorsEntry parse_entry(const std::string& name, const json::value& value,
                             const std::string& file) {
  const std::string where = file + ": tensor \"" + name + "\"";
  if (!value.is_object()) throw_invalid(where + ": header entry is not an object");
  const auto& object = value.get_object();
  SafetensorsEntry entry;
  entry.name = name;
  const std::string dtype_text = required_string(object, "dtype", where);
  const auto dtype = dtype_from_safetensors(dtype_text);
  if (!dtype) throw_unsupported(where + ": unsupported dtype \"" + dtype_text + "\"");
  entry.dtype = *dtype;
  const auto* shape = object.if_contains("shape");
  if (shape == nullptr || !shape->is_array()) throw_invalid(where + ": \"shape\" must be an array");
  for (const auto& d : shape->get_array()) {
    if (!d.is_int64() && !d.is_uint64()) throw_invalid(where + ": shape entries must be integers");
    const int64_t n = d.is_int64() ? d.get_int64() : static_cast<int64_t>(d.get_uint64());
    if (n < 0) throw_invalid(where + ": negative dimension in shape");
    entry.shape.push_back(n);
  }
  const auto* offsets = object.if_contains("data_offsets");
  if (offsets == nullptr || !offsets->is_array() || offsets->get_array().size() != 2) {
    throw_invalid(where + ": \"data_offsets\" must be [begin, end]");
  }
  for (int i = 0; i < 2; ++i) {
    const auto& o = offsets->get_array()[static_cast<size_t>(i)];
    if (!(o.is_uint64() || (o.is_int64() && o.get_int64() >= 0))) {
      throw_invalid(where + ": data_offsets must be non-negative integers");
    }
    const uint64_t v = o.is_uint64() ? o.get_uint64() : static_cast<uint64_t>(o.get_int64());
    (i == 0 ? entry.data_begin : entry.data_end) = v;
  }
  if (entry.data_end < entry.data_begin) throw_invalid(where + ": data_offsets end before begin");
  uint64_t expected = dtype_size(entry.dtype);
  for (const int64_t d : entry.shape) {
    if (__builtin_mul_overflow(expected, static_cast<uint64_t>(d), &expected)) {
      throw_invalid(where + ": " + dtype_text + shape_string(entry.shape) + " is larger than 2^64 bytes");
    }
  }
  if (entry.data_end - entry.data_begin != expected) {
    throw_invalid(where + ": " + dtype_text + shape_string(entry.shape) + " needs " +
                  std::to_string(expected) + " bytes but data_offsets span " +
                  std::to_string(entry.data_end - entry.data_begin));
  }
  return entry;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(MappedFile::open(path)) {
  const std::string name = path.string();
  if (file_->size() < 8) throw_invalid(name + ": too short for a safetensors file (" +
                                       std::to_string(file_->size()) + " bytes)");
  const uint64_t header_size = read_le64(file_->data());
  if (header_size > kMaxHeaderBytes || header_size > file_->size() - 8) {
    throw_invalid(name + ": header length " + std::to_string(header_size) +
                  " exceeds the file size " + std::to_string(file_->size()) +
                  " (truncated or not a safetensors file)");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(file_->data() + 8), header_size);
  const json::value header = parse_json(header_text, name + " (header)");
  if (!header.is_object()) throw_invalid(name + ": header is not a JSON object");
  data_section_ = file_->data() + 8 + header_size;
  const uint64_t data_size = file_->size() - 8 - header_size;
  for (const auto& field : header.get_object()) {
    const std::string key(field.key());
    if (key == "__metadata__") {
      if (!field.value().is_object()) throw_invalid(name + ": __metadata__ is not an object");
      for (const auto& m : field.value().get_object()) {
        if (!m.value().is_string()) {
          throw_invalid(name + ": __metadata__ value \"" + std::string(m.key()) + "\" is not a string");
        }
        metadata_[std::string(m.key())] = std::string(m.value().get_string());
      }
      continue;
    }
    SafetensorsEntry entry = parse_entry(key, field.value(), name);
    if (entry.data_end > data_size) {
      throw_invalid(name + ": tensor \"" + key + "\": data ends at byte " +
                    std::to_string(entry.data_end) + " of a data section of " +
                    std::to_string(data_size) + " bytes (truncated file?)");
    }
    entries_.emplace(key, std::move(entry));
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) out.push_back(key);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    throw_not_found(path().string() + ": no tensor named \"" + name + "\"");
  }
  return it->second;
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  // The mapping is read-only; Tensor's pointer is non-const by design, and
  // writing through a view of a file is a bug the MAP_PRIVATE page fault catches.
  auto* data = const_cast<uint8_t*>(data_section_ + e.data_begin);
  // Typed access needs each element at a multiple of its size. The format
  // does not promise that (a writer may leave the header unpadded, or a
  // tensor may start at an odd offset): such a tensor is copied into aligned
  // memory instead of viewed.
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(e.dtype) != 0)
    return Tensor::copy_of(e.dtype, e.shape, data);
  return Tensor::view(e.dtype, e.shape, data, file_);
}

// --- Checkpoint -------------------------------------------------------------

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::filesystem::path& directory)
    : directory_(directory) {
  namespace fs = std::filesystem;
  std::vector<fs::path> shard_paths;
  std::map<std::string, std::string> weight_map;
  // transformers names the files model.*, diffusers diffusion_pytorch_model.*.
  const bool diffusers = !fs::exists(directory / "model.safetensors") &&
                         !fs::exists(directory / "model.safetensors.index.json") &&
                         (fs::exists(directory / "diffusion_pytorch_model.safetensors") ||
                          fs::exists(directory / "diffusion_pytorch_model.safetensors.index.json"));
  const std::string stem = diffusers ? "diffusion_pytorch_model" : "model";
  const fs::path index = directory / (stem + ".safetensors.index.json");
  const fs::path single = directory / (stem + ".safetensors");
  if (fs::is_regular_file(directory)) {
    shard_paths.push_back(directory);
  } else if (fs::exists(single)) {
    shard_paths.push_back(single);
  } else if (fs::exists(index)) {
    const json::value root = read_json_file(index);
    const auto& object = as_object(root, index.string());
    const auto* map = object.if_contains("weight_map");
    if (map == nullptr || !map->is_object()) {
      throw_invalid(index.string() + ": field \"weight_map\" must be an object");
    }
    for (const auto& w : map->get_object()) {
      if (!w.value().is_string()) {
        throw_invalid(index.string() + ": weight_map entry \"" + std::string(w.key()) +
                      "\" is not a file name");
      }
      const std::string file(w.value().get_string());
      weight_map[std::string(w.key())] = file;
      if (std::find(shard_paths.begin(), shard_paths.end(), directory / file) == shard_paths.end()) {
        shard_paths.push_back(directory / file);
      }
    }
  } else {
    throw_not_found(directory.string() +
                    ": no model.safetensors or model.safetensors.index.json (nor diffusers' "
                    "diffusion_pytorch_model.safetensors[.index.json])");
  }
  for (size_t i = 0; i < shard_paths.size(); ++i) {
    files_.push_back(std::make_unique<SafetensorsFile>(shard_paths[i]));
    for (const auto& name : files_.back()->names()) {
      if (!owner_.emplace(name, i).second) {
        throw_invalid(directory.string() + ": tensor \"" + name + "\" appears in both " +
                      files_[owner_[name]]->path().string() + " and " + shard_paths[i].string());
      }
    }
  }
  for (const auto& [name, file] : weight_map) {
    auto it = owner_.find(name);
    if (it == owner_.end()) {
      throw_invalid(index.string() + ": weight_map lists tensor \"" + name + "\" in " + file +
                    " but that file does not contain it");
    }
    if (files_[it->second]->path() != directory / file) {
      throw_invalid(index.string() + ": weight_map puts tensor \"" + name + "\" in " + file +
                    " but it is in " + files_[it->second]->path().string());
    }
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(owner_.size());
  for (const auto& [name, index] : owner_) out.push_back(name);
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::file_for(const std::string& name) const {
  auto it = owner_.find(name);
  if (it == owner_.end()) {
    throw_not_found(directory_.string() + ": checkpoint has no tensor \"" + name + "\"");
  }
  return *files_[it->second];
}

const SafetensorsEntry& SafetensorsCheckpoint::entry(const std::string& name) const {
  return file_for(name).entry(name);
}

Tensor SafetensorsCheckpoint::tensor(const std::string& name) const {
  return file_for(name).tensor(name);
}

const std::filesystem::path& SafetensorsCheckpoint::file_of(const std::string& name) const {
  return file_for(name).path();
}

const std::map<std::string, std::string>& SafetensorsCheckpoint::metadata() const {
  return files_.front()->metadata();
}

// --- Writer -----------------------------------------------------------------

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json::object header;
  if (!metadata.empty()) {
    json::object meta;
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    json::object entry;
    entry["dtype"] = std::string(dtype_safetensors_name(tensor.dtype()));
    json::array shape;
    for (int64_t d : tensor.shape()) shape.push_back(d);
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = json::array{offset, offset + tensor.nbytes()};
    offset += tensor.nbytes();
    header[name] = std::move(entry);
  }
  std::string header_text = json::serialize(header);
  while (header_text.size() % 8 != 0) header_text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw_io(path.string() + ": cannot create");
  uint8_t length[8];
  uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const auto& [name, tensor] : tensors) {
    out.write(static_cast<const char*>(tensor.data()), static_cast<std::streamsize>(tensor.nbytes()));
  }
  if (!out) throw_io(path.string() + ": write failed");
}

}  // namespace citadel::runtime
