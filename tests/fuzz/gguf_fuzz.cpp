// Fuzz target: GGUF files (header, metadata of every value type, tensor
// infos, tensor data, the tokenizer.ggml.* vocabulary). The input is written
// to a file and opened as runtime::GgufFile the way llm-gptq's loader does.
// Malformed files must fail with runtime::RuntimeError only. For a file that
// opens:
// - every metadata value renders (summary) and converts (to_int, to_uint,
//   to_double, to_bool, to_string, items) or throws RuntimeError (of an
//   array: the first 8 items and the last);
// - every tensor's byte count equals rows x the bytes of one row (computed
//   here without overflow) and lies inside the mapping, and every value is
//   read: dense tensors through Tensor::to_f32, every type row by row through
//   dequantize_row, so a view past the mapping is found by ASan;
// - the tokenizer stored in the file, if it builds, encodes a fixed text to
//   ids inside its vocabulary and decodes them to valid UTF-8.
#include "fuzz_support.hpp"

#include "runtime/core/error.h"
#include "runtime/formats/gguf_file.h"
#include "runtime/formats/gguf_tokenizer.h"
#include "runtime/kernels/ggml_dequantize.h"
#include "runtime/text/utf8.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

namespace {

using namespace citadel;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "gguf finding: %s\n", what.c_str());
  std::abort();
}

double touch_value(const runtime::GgufValue& value, int depth) {
  double sum = static_cast<double>(value.summary().size());
  const std::string what = "fuzz value";
  try { sum += static_cast<double>(value.to_int(what)); } catch (const runtime::RuntimeError&) {}
  try { sum += static_cast<double>(value.to_uint(what)); } catch (const runtime::RuntimeError&) {}
  try { sum += value.to_double(what); } catch (const runtime::RuntimeError&) {}
  try { sum += value.to_bool(what) ? 1 : 0; } catch (const runtime::RuntimeError&) {}
  try { sum += static_cast<double>(value.to_string(what).size()); } catch (const runtime::RuntimeError&) {}
  if (value.type() != runtime::GgufValueType::array) return sum;
  // The first items and the last: a vocabulary of 10^5 strings would
  // otherwise cost 5 x 10^5 exceptions per input.
  const std::vector<runtime::GgufValue>& items = value.items(what);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i >= 8) i = items.size() - 1;
    sum += touch_value(items[i], depth + 1);
  }
  return sum;
}

double read_tensor(const runtime::GgufFile& file, const runtime::GgufTensorInfo& info) {
  const runtime::GgmlTypeTraits traits = runtime::ggml_type_traits(static_cast<uint32_t>(info.type));
  const unsigned __int128 row_bytes =
      static_cast<unsigned __int128>(info.cols() / traits.block_size) * static_cast<uint64_t>(traits.type_size);
  const unsigned __int128 expected = row_bytes * static_cast<uint64_t>(info.rows());
  if (expected != info.nbytes) {
    finding("tensor '" + info.name + "' claims " + std::to_string(info.nbytes) + " bytes, its dims need more");
  }
  const uint8_t* begin = file.mapping()->data();
  if (info.data < begin || info.data + info.nbytes > begin + file.mapping()->size()) {
    finding("tensor '" + info.name + "' lies outside the mapping");
  }
  double sum = 0;
  std::vector<float> row(static_cast<size_t>(info.cols()));
  const runtime::GgmlMatrix matrix = file.matrix(info.name);
  for (int64_t r = 0; r < matrix.rows; ++r) {
    runtime::dequantize_row(info.type, matrix.row(r), matrix.cols, row.data());
    for (float v : row) sum += static_cast<double>(v);
  }
  if (!traits.quantized) {
    const runtime::Tensor dense = file.dense_tensor(info.name).to_f32();
    if (dense.numel() != info.rows() * info.cols()) finding("tensor '" + info.name + "' view has the wrong size");
    const float* values = dense.data_as<float>();
    for (int64_t i = 0; i < dense.numel(); ++i) sum += static_cast<double>(values[i]);
  }
  return sum;
}

void check_tokenizer(const runtime::GgufFile& file) {
  std::optional<runtime::GgufTokenizer> loaded;
  try {
    loaded.emplace(runtime::load_gguf_tokenizer(file));
  } catch (const runtime::RuntimeError&) {
    return;
  }
  const runtime::Tokenizer& tokenizer = loaded->tokenizer;
  const std::vector<int32_t> ids = tokenizer.encode("Hello wörld  <s> 日本\xF0\x9F\x98\x80 \xFF", true);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size())
      finding("the file's tokenizer gave id " + std::to_string(id) + " outside its vocabulary");
  }
  const std::string text = tokenizer.decode(ids);
  if (runtime::utf8::repair(text) != text) finding("the file's tokenizer decoded to invalid UTF-8");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = fuzz::scratch_dir() / "model.gguf";
  fuzz::write_file(path, fuzz::as_text(data, size));
  std::optional<runtime::GgufFile> file;
  try {
    file.emplace(path);
  } catch (const runtime::RuntimeError&) {
    return 0;
  }
  double total = 0;
  for (const auto& [key, value] : file->metadata()) total += touch_value(value, 0) + static_cast<double>(key.size());
  for (const runtime::GgufTensorInfo& info : file->tensors()) {
    if (file->find_tensor(info.name) != &info) finding("tensor '" + info.name + "' is not found by its name");
    total += read_tensor(*file, info);
  }
  check_tokenizer(*file);
  (void)total;
  return 0;
}
