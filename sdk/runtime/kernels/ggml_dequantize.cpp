// Portable dequantization of every block format, one function per format,
// following ggml_blocks.h's element order. Built without FMA contraction
// (see the pragma) so that d*q+m rounds twice, as numpy does.
#include "runtime/kernels/ggml_dequantize.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"

#include <cstring>
#include <string>

#pragma GCC optimize("fp-contract=off")

namespace citadel::runtime {
namespace {

uint32_t load_u32(const uint8_t* bytes) {
  uint32_t value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

void dequantize_q4_0(const BlockQ4_0& b, float* out) {
  const float d = half_to_float(b.d);
  for (int i = 0; i < 16; ++i) {
    out[i] = d * static_cast<float>((b.qs[i] & 15) - 8);
    out[i + 16] = d * static_cast<float>((b.qs[i] >> 4) - 8);
  }
}

void dequantize_q4_1(const BlockQ4_1& b, float* out) {
  const float d = half_to_float(b.d), m = half_to_float(b.m);
  for (int i = 0; i < 16; ++i) {
    out[i] = d * static_cast<float>(b.qs[i] & 15) + m;
    out[i + 16] = d * static_cast<float>(b.qs[i] >> 4) + m;
  }
}

void dequantize_q5_0(const BlockQ5_0& b, float* out) {
  const float d = half_to_float(b.d);
  const uint32_t qh = load_u32(b.qh);
  for (int i = 0; i < 16; ++i) {
    const int lo = (b.qs[i] & 15) | static_cast<int>(((qh >> i) & 1) << 4);
    const int hi = (b.qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1) << 4);
    out[i] = d * static_cast<float>(lo - 16);
    out[i + 16] = d * static_cast<float>(hi - 16);
  }
}

void dequantize_q5_1(const BlockQ5_1& b, float* out) {
  const float d = half_to_float(b.d), m = half_to_float(b.m);
  const uint32_t qh = load_u32(b.qh);
  for (int i = 0; i < 16; ++i) {
    const int lo = (b.qs[i] & 15) | static_cast<int>(((qh >> i) & 1) << 4);
    const int hi = (b.qs[i] >> 4) | static_cast<int>(((qh >> (i + 16)) & 1) << 4);
    out[i] = d * static_cast<float>(lo) + m;
    out[i + 16] = d * static_cast<float>(hi) + m;
  }
}

void dequantize_q8_0(const BlockQ8_0& b, float* out) {
  const float d = half_to_float(b.d);
  for (int i = 0; i < 32; ++i) out[i] = static_cast<float>(b.qs[i]) * d;
}

// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins; `qh` (Q5_K
// only, else null) holds the fifth bit of element e of sub-block j at bit j of qh[e].
void dequantize_k_sub_blocks(uint16_t d_bits, uint16_t dmin_bits, const uint8_t* scales, const uint8_t* qs,
                             const uint8_t* qh, float* out) {
  const float d = half_to_float(d_bits), dmin = half_to_float(dmin_bits);
  for (int j = 0; j < 8; ++j) {
    uint8_t scale = 0, min = 0;
    k_scale_min(scales, j, scale, min);
    const float dj = d * static_cast<float>(scale), mj = dmin * static_cast<float>(min);
    const uint8_t* q = qs + 32 * (j / 2);
    const int shift = (j % 2) * 4;
    for (int e = 0; e < 32; ++e) {
      const int high = qh != nullptr ? ((qh[e] >> j) & 1) << 4 : 0;
      out[32 * j + e] = dj * static_cast<float>(((q[e] >> shift) & 15) | high) - mj;
    }
  }
}

void dequantize_q4_k(const BlockQ4_K& b, float* out) {
  dequantize_k_sub_blocks(b.d, b.dmin, b.scales, b.qs, nullptr, out);
}

void dequantize_q5_k(const BlockQ5_K& b, float* out) { dequantize_k_sub_blocks(b.d, b.dmin, b.scales, b.qs, b.qh, out); }

void dequantize_q6_k(const BlockQ6_K& b, float* out) {
  const float d = half_to_float(b.d);
  for (int i = 0; i < kQkK; ++i) {
    const int h = i / 128, r = i % 128;
    const int lo = (b.ql[64 * h + r % 64] >> (4 * (r / 64))) & 15;
    const int hi = (b.qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    const float scale = d * static_cast<float>(b.scales[i / 16]);
    out[i] = scale * static_cast<float>((lo | (hi << 4)) - 32);
  }
}

template <typename Block>
void dequantize_blocks(const void* data, int64_t blocks, int64_t block_size, float* out,
                       void (*one)(const Block&, float*)) {
  const uint8_t* bytes = static_cast<const uint8_t*>(data);
  for (int64_t i = 0; i < blocks; ++i) {
    Block block;  // copied: file data carries no alignment guarantee
    std::memcpy(&block, bytes + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
    one(block, out + i * block_size);
  }
}

}  // namespace

const char* ggml_type_name(uint32_t type) {
  const GgmlTypeTraits traits = ggml_type_traits(type);
  if (traits.name != nullptr) return traits.name;
  switch (type) {
    case 9: return "Q8_1";
    case 10: return "Q2_K";
    case 11: return "Q3_K";
    case 15: return "Q8_K";
    case 16: return "IQ2_XXS";
    case 17: return "IQ2_XS";
    case 18: return "IQ3_XXS";
    case 19: return "IQ1_S";
    case 20: return "IQ4_NL";
    case 21: return "IQ3_S";
    case 22: return "IQ2_S";
    case 23: return "IQ4_XS";
    case 24: return "I8";
    case 25: return "I16";
    case 26: return "I32";
    case 27: return "I64";
    case 28: return "F64";
    case 29: return "IQ1_M";
    case 34: return "TQ1_0";
    case 35: return "TQ2_0";
    case 39: return "MXFP4";
    default: return "an unknown type";
  }
}

int64_t ggml_row_bytes(GgmlType type, int64_t n) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (traits.name == nullptr) {
    throw_unsupported(std::string("ggml type ") + ggml_type_name(static_cast<uint32_t>(type)) +
                      " is not supported");
  }
  return n / traits.block_size * traits.type_size;
}

void dequantize_row(GgmlType type, const void* data, int64_t n, float* out) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (traits.name == nullptr) {
    throw_unsupported(std::string("dequantize: ggml type ") + ggml_type_name(static_cast<uint32_t>(type)) +
                      " is not supported");
  }
  if (n % traits.block_size != 0) {
    throw_invalid("dequantize: " + std::to_string(n) + " values are not whole " + traits.name + " blocks of " +
                  std::to_string(traits.block_size));
  }
  const int64_t blocks = n / traits.block_size;
  switch (type) {
    case GgmlType::f32: std::memcpy(out, data, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::f16: half_to_float(static_cast<const uint16_t*>(data), out, static_cast<size_t>(n)); return;
    case GgmlType::bf16: bfloat16_to_float(static_cast<const uint16_t*>(data), out, static_cast<size_t>(n)); return;
    case GgmlType::q4_0: dequantize_blocks<BlockQ4_0>(data, blocks, kQk, out, dequantize_q4_0); return;
    case GgmlType::q4_1: dequantize_blocks<BlockQ4_1>(data, blocks, kQk, out, dequantize_q4_1); return;
    case GgmlType::q5_0: dequantize_blocks<BlockQ5_0>(data, blocks, kQk, out, dequantize_q5_0); return;
    case GgmlType::q5_1: dequantize_blocks<BlockQ5_1>(data, blocks, kQk, out, dequantize_q5_1); return;
    case GgmlType::q8_0: dequantize_blocks<BlockQ8_0>(data, blocks, kQk, out, dequantize_q8_0); return;
    case GgmlType::q4_k: dequantize_blocks<BlockQ4_K>(data, blocks, kQkK, out, dequantize_q4_k); return;
    case GgmlType::q5_k: dequantize_blocks<BlockQ5_K>(data, blocks, kQkK, out, dequantize_q5_k); return;
    case GgmlType::q6_k: dequantize_blocks<BlockQ6_K>(data, blocks, kQkK, out, dequantize_q6_k); return;
    default: break;
  }
  throw_unsupported(std::string("dequantize: ggml type ") + traits.name + " is not supported");
}

}  // namespace citadel::runtime
