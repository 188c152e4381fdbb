// Fuzz target: safetensors files (8-byte header length, JSON header, data).
// The input is written to a file and opened as a checkpoint the way weight
// loaders do; every tensor is then read whole through its typed view
// (converted to f32 where it is a float type), so a view that reaches past
// the mapping or a misaligned typed access is found by ASan / UBSan.
// Malformed files must fail with runtime::RuntimeError only.
#include "fuzz_support.hpp"

#include "runtime/core/error.h"
#include "runtime/formats/safetensors.h"

#include <cstdio>
#include <cstdlib>

namespace {

using namespace citadel;

// Reads every element through the pointer type the dtype's kernels use.
template <typename T>
double sum_elements(const runtime::Tensor& tensor) {
  double sum = 0;
  const T* values = tensor.data_as<T>();
  for (int64_t i = 0; i < tensor.numel(); ++i) sum += static_cast<double>(values[i]);
  return sum;
}

double read_tensor(const runtime::Tensor& tensor) {
  using runtime::DType;
  switch (tensor.dtype()) {
    case DType::f32: return sum_elements<float>(tensor) + sum_elements<float>(tensor.to_f32());
    case DType::f16: case DType::bf16: return sum_elements<float>(tensor.to_f32());
    case DType::f64: return sum_elements<double>(tensor);
    case DType::i64: case DType::u64: return sum_elements<uint64_t>(tensor);
    case DType::i32: case DType::u32: return sum_elements<uint32_t>(tensor);
    case DType::i16: case DType::u16: return sum_elements<uint16_t>(tensor);
    case DType::i8: case DType::u8: case DType::boolean: return sum_elements<uint8_t>(tensor);
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = fuzz::scratch_dir() / "model.safetensors";
  fuzz::write_file(path, fuzz::as_text(data, size));
  try {
    const runtime::SafetensorsCheckpoint checkpoint(path);
    double total = 0;
    for (const std::string& name : checkpoint.names()) {
      const runtime::Tensor tensor = checkpoint.tensor(name);
      if (tensor.nbytes() != checkpoint.entry(name).data_end - checkpoint.entry(name).data_begin) {
        std::fprintf(stderr, "safetensors finding: tensor \"%s\" size differs from its span\n",
                     name.c_str());
        std::abort();
      }
      total += read_tensor(tensor);
    }
    (void)total;
  } catch (const runtime::RuntimeError&) {
  }
  return 0;
}
