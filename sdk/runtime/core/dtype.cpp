// DType sizes and names.
#include "runtime/core/dtype.h"

#include <array>
#include <utility>

namespace citadel::runtime {
namespace {

struct DTypeRow {
  DType dtype;
  size_t size;
  std::string_view name;
  std::string_view safetensors_name;
};

constexpr std::array<DTypeRow, 13> kRows = {{
    {DType::f32, 4, "f32", "F32"},
    {DType::f16, 2, "f16", "F16"},
    {DType::bf16, 2, "bf16", "BF16"},
    {DType::f64, 8, "f64", "F64"},
    {DType::i64, 8, "i64", "I64"},
    {DType::i32, 4, "i32", "I32"},
    {DType::i16, 2, "i16", "I16"},
    {DType::i8, 1, "i8", "I8"},
    {DType::u8, 1, "u8", "U8"},
    {DType::u16, 2, "u16", "U16"},
    {DType::u32, 4, "u32", "U32"},
    {DType::u64, 8, "u64", "U64"},
    {DType::boolean, 1, "bool", "BOOL"},
}};

const DTypeRow& row(DType dtype) {
  for (const auto& r : kRows) {
    if (r.dtype == dtype) return r;
  }
  return kRows[0];  // unreachable for valid enum values
}

}  // namespace

size_t dtype_size(DType dtype) { return row(dtype).size; }
std::string_view dtype_name(DType dtype) { return row(dtype).name; }
std::string_view dtype_safetensors_name(DType dtype) { return row(dtype).safetensors_name; }

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& r : kRows) {
    if (r.safetensors_name == name) return r.dtype;
  }
  return std::nullopt;
}

}  // namespace citadel::runtime
