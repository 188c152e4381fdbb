// IEEE fp16 and bfloat16 <-> fp32 conversion, bit-exact with round-to-nearest-
// even (NaN stays NaN, overflow goes to infinity, subnormals are kept).
// Used by the kernels, the weight loaders of plugins and the tests. Header-
// only inline functions on plain bit patterns (uint16_t), no Boost.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace citadel::runtime {

inline float half_to_float(uint16_t h) {
  // Branch-free (so loops over it vectorize): place exponent and mantissa in
  // a float and rescale by 2^112; this is exact for normals and subnormals.
  // All-ones exponents (inf/NaN) get the float all-ones exponent instead.
  const uint32_t magnitude = static_cast<uint32_t>(h & 0x7fffu) << 13;
  const float scaled = std::bit_cast<float>(magnitude) * 0x1p112f;
  const uint32_t special = magnitude | 0x7f800000u;
  const uint32_t special_mask = 0u - static_cast<uint32_t>(magnitude >= 0x0f800000u);
  const uint32_t bits = (special & special_mask) | (std::bit_cast<uint32_t>(scaled) & ~special_mask);
  return std::bit_cast<float>(bits | (static_cast<uint32_t>(h & 0x8000u) << 16));
}

inline uint16_t float_to_half(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN: keep it quiet and non-zero
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: value = abs * 2^24 half-ulps.
    if (abs < 0x33000000u) return sign;  // below half of the smallest subnormal
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exponent;  // 14..24
    uint32_t result = mantissa >> shift;
    const uint32_t remainder = mantissa & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1u);
    if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
    return static_cast<uint16_t>(sign | result);
  }
  // Normal: rebias the exponent, round the 13 dropped bits to nearest even.
  uint32_t result = ((abs >> 13) - (112u << 10));
  const uint32_t remainder = abs & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u))) ++result;
  return static_cast<uint16_t>(sign | result);
}

inline float bfloat16_to_float(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t float_to_bfloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  }
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// Array forms (n elements).
void half_to_float(const uint16_t* in, float* out, size_t n);
void float_to_half(const float* in, uint16_t* out, size_t n);
void bfloat16_to_float(const uint16_t* in, float* out, size_t n);
void float_to_bfloat16(const float* in, uint16_t* out, size_t n);

}  // namespace citadel::runtime
