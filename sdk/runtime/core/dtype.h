// Element types of runtime tensors and their sizes and names.
// Used by Tensor, the safetensors reader (which maps its "F16", "BF16", ...
// strings here) and by every kernel that takes typed weights. Plain C++ with
// no Boost, so CUDA sources may include it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace citadel::runtime {

enum class DType : uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, u16, u32, u64, boolean };

// Bytes per element.
size_t dtype_size(DType dtype);
// Lower-case name, e.g. "f16", "bf16", "i32".
std::string_view dtype_name(DType dtype);
// The safetensors spelling ("F32", "F16", "BF16", "I32", "U8", "BOOL", ...)
// to a DType; nullopt for unknown or unsupported spellings (e.g. "F8_E4M3").
std::optional<DType> dtype_from_safetensors(std::string_view name);
// The safetensors spelling of a DType.
std::string_view dtype_safetensors_name(DType dtype);

}  // namespace citadel::runtime
