// Device-side decoding of ggml blocks (layouts in ggml_blocks.h), shared by
// the GEMV (ggml_gemv.cu) and the dequantization kernels (ggml_rows.cu).
//
// A block is read in "parts" of 8 values: two runs of 4 consecutive values
// (`lo` at value index base_lo of the block, `hi` at base_hi; both multiples
// of 4), each with one affine map value = a * q + b, q a small integer held
// exactly in a float. Parts per block: 4 for the 32-value formats, 32 for
// the K-quants. Part p of each format:
//   Q4_0/Q4_1 qs[4p..4p+3]: low nibbles -> values 4p.., high -> 16+4p..
//   Q5_0/Q5_1 the same with bit 4 from qh (bit i for value i)
//   Q8_0      qs[8p..8p+7] -> values 8p..8p+7
//   Q4_K/Q5_K pair = p/8, c = 4 (p%8): qs[32 pair + c ..] low nibbles ->
//             sub-block 2 pair (values 64 pair + c..), high -> 2 pair + 1
//   Q6_K      h = p/16, c = 4 (p%16): ql[64 h + c ..] low nibbles -> values
//             128 h + c.., high -> 128 h + 64 + c..; 2 bits each from qh[32 h + c%32 ..]
// The maps repeat the CPU's dequantize_row arithmetic (Q4_0 d*(q-8), Q4_1
// d*q+m, K-quants (d*sc)*q - dmin*mn, Q6_K (d*sc)*(q-32)), so dequantize()
// below is bit-identical to it. Blocks need only 2-byte alignment.
#pragma once

#include "runtime/kernels/ggml_blocks.h"

#include <cuda_fp16.h>

#include <cstdint>

namespace citadel::runtime::cuda {

struct BlockPart {
  float lo[4], hi[4];
  float a_lo, b_lo, a_hi, b_hi;
  int base_lo, base_hi;
};

__device__ __forceinline__ float half_bits_to_float(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
__device__ __forceinline__ uint16_t load_u16(const uint8_t* p) { return *reinterpret_cast<const uint16_t*>(p); }
// A little-endian uint32 at a 2-byte aligned address.
__device__ __forceinline__ uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(load_u16(p)) | (static_cast<uint32_t>(load_u16(p + 2)) << 16);
}
// A small non-negative integer n (< 2^23) as an exact float minus `offset`
// (exact too): OR into the mantissa of 2^23, one subtraction.
__device__ __forceinline__ float small_int(uint32_t n, float offset) {
  return __uint_as_float(0x4B000000u | n) - (8388608.0f + offset);
}

template <GgmlType T>
struct BlockFormat;

template <>
struct BlockFormat<GgmlType::q4_0> {
  static constexpr int kValues = 32, kBytes = 18, kParts = 4;
  static constexpr bool kOffset = false;  // b is always 0
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    const float d = half_bits_to_float(load_u16(block));
    const uint32_t w = load_u32(block + 2 + 4 * p);
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      out.lo[t] = small_int((w >> (8 * t)) & 15u, 8.0f);
      out.hi[t] = small_int((w >> (8 * t + 4)) & 15u, 8.0f);
    }
    out.a_lo = out.a_hi = d;
    out.b_lo = out.b_hi = 0.0f;
    out.base_lo = 4 * p;
    out.base_hi = 16 + 4 * p;
  }
};

template <>
struct BlockFormat<GgmlType::q4_1> {
  static constexpr int kValues = 32, kBytes = 20, kParts = 4;
  static constexpr bool kOffset = true;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    const float d = half_bits_to_float(load_u16(block)), m = half_bits_to_float(load_u16(block + 2));
    const uint32_t w = load_u32(block + 4 + 4 * p);
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      out.lo[t] = small_int((w >> (8 * t)) & 15u, 0.0f);
      out.hi[t] = small_int((w >> (8 * t + 4)) & 15u, 0.0f);
    }
    out.a_lo = out.a_hi = d;
    out.b_lo = out.b_hi = m;
    out.base_lo = 4 * p;
    out.base_hi = 16 + 4 * p;
  }
};

// Q5_0 / Q5_1: qs at `qs_at`, the 32 fifth bits at `qh_at`.
template <int kQhAt, int kQsAt>
__device__ __forceinline__ void decode_q5(const uint8_t* block, int p, float offset, BlockPart& out) {
  const uint32_t w = load_u32(block + kQsAt + 4 * p);
  const uint32_t qh = load_u32(block + kQhAt);
  const uint32_t h_lo = qh >> (4 * p), h_hi = qh >> (16 + 4 * p);
#pragma unroll
  for (int t = 0; t < 4; ++t) {
    out.lo[t] = small_int(((w >> (8 * t)) & 15u) | (((h_lo >> t) & 1u) << 4), offset);
    out.hi[t] = small_int(((w >> (8 * t + 4)) & 15u) | (((h_hi >> t) & 1u) << 4), offset);
  }
  out.base_lo = 4 * p;
  out.base_hi = 16 + 4 * p;
}

template <>
struct BlockFormat<GgmlType::q5_0> {
  static constexpr int kValues = 32, kBytes = 22, kParts = 4;
  static constexpr bool kOffset = false;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    decode_q5<2, 6>(block, p, 16.0f, out);
    out.a_lo = out.a_hi = half_bits_to_float(load_u16(block));
    out.b_lo = out.b_hi = 0.0f;
  }
};

template <>
struct BlockFormat<GgmlType::q5_1> {
  static constexpr int kValues = 32, kBytes = 24, kParts = 4;
  static constexpr bool kOffset = true;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    decode_q5<4, 8>(block, p, 0.0f, out);
    out.a_lo = out.a_hi = half_bits_to_float(load_u16(block));
    out.b_lo = out.b_hi = half_bits_to_float(load_u16(block + 2));
  }
};

template <>
struct BlockFormat<GgmlType::q8_0> {
  static constexpr int kValues = 32, kBytes = 34, kParts = 4;
  static constexpr bool kOffset = false;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    const uint32_t w0 = load_u32(block + 2 + 8 * p), w1 = load_u32(block + 6 + 8 * p);
#pragma unroll
    for (int t = 0; t < 4; ++t) {  // int8 -> q + 128 (an unsigned byte), then - 128
      out.lo[t] = small_int(((w0 >> (8 * t)) & 255u) ^ 128u, 128.0f);
      out.hi[t] = small_int(((w1 >> (8 * t)) & 255u) ^ 128u, 128.0f);
    }
    out.a_lo = out.a_hi = half_bits_to_float(load_u16(block));
    out.b_lo = out.b_hi = 0.0f;
    out.base_lo = 8 * p;
    out.base_hi = 8 * p + 4;
  }
};

// Scale and min of K-quant sub-block j (ggml_blocks.h's k_scale_min).
__device__ __forceinline__ void k_scale_min_device(const uint8_t* s, int j, float& scale, float& min) {
  if (j < 4) {
    scale = static_cast<float>(s[j] & 63);
    min = static_cast<float>(s[j + 4] & 63);
  } else {
    scale = static_cast<float>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    min = static_cast<float>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Q4_K / Q5_K (qh_at < 0: no fifth bits).
template <int kQhAt, int kQsAt>
__device__ __forceinline__ void decode_k(const uint8_t* block, int p, BlockPart& out) {
  const float d = half_bits_to_float(load_u16(block)), dmin = half_bits_to_float(load_u16(block + 2));
  const int pair = p >> 3, c = 4 * (p & 7);
  const uint32_t w = load_u32(block + kQsAt + 32 * pair + c);
  uint32_t qh = 0;
  if constexpr (kQhAt >= 0) qh = load_u32(block + kQhAt + c) >> (2 * pair);
#pragma unroll
  for (int t = 0; t < 4; ++t) {
    out.lo[t] = small_int(((w >> (8 * t)) & 15u) | (((qh >> (8 * t)) & 1u) << 4), 0.0f);
    out.hi[t] = small_int(((w >> (8 * t + 4)) & 15u) | (((qh >> (8 * t + 1)) & 1u) << 4), 0.0f);
  }
  float sc, mn;
  k_scale_min_device(block + 4, 2 * pair, sc, mn);
  out.a_lo = d * sc;
  out.b_lo = -(dmin * mn);
  k_scale_min_device(block + 4, 2 * pair + 1, sc, mn);
  out.a_hi = d * sc;
  out.b_hi = -(dmin * mn);
  out.base_lo = 64 * pair + c;
  out.base_hi = 64 * pair + 32 + c;
}

template <>
struct BlockFormat<GgmlType::q4_k> {
  static constexpr int kValues = 256, kBytes = 144, kParts = 32;
  static constexpr bool kOffset = true;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) { decode_k<-1, 16>(block, p, out); }
};

template <>
struct BlockFormat<GgmlType::q5_k> {
  static constexpr int kValues = 256, kBytes = 176, kParts = 32;
  static constexpr bool kOffset = true;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) { decode_k<16, 48>(block, p, out); }
};

template <>
struct BlockFormat<GgmlType::q6_k> {
  static constexpr int kValues = 256, kBytes = 210, kParts = 32;
  static constexpr bool kOffset = false;
  __device__ static void decode(const uint8_t* block, int p, BlockPart& out) {
    const int h = p >> 4, c = 4 * (p & 15);
    const uint32_t wl = load_u32(block + 64 * h + c);
    const uint32_t wh = load_u32(block + 128 + 32 * h + (c & 31)) >> (2 * (c >> 5));
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      out.lo[t] = small_int(((wl >> (8 * t)) & 15u) | (((wh >> (8 * t)) & 3u) << 4), 32.0f);
      out.hi[t] = small_int(((wl >> (8 * t + 4)) & 15u) | (((wh >> (8 * t + 4)) & 3u) << 4), 32.0f);
    }
    const float d = half_bits_to_float(load_u16(block + 208));
    const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
    out.base_lo = 128 * h + c;
    out.base_hi = 128 * h + 64 + c;
    out.a_lo = d * static_cast<float>(scales[out.base_lo >> 4]);
    out.a_hi = d * static_cast<float>(scales[out.base_hi >> 4]);
    out.b_lo = out.b_hi = 0.0f;
  }
};

// value = a * q + b rounded as the CPU's dequantize_row rounds it (no FMA).
__device__ __forceinline__ float dequantized(float a, float q, float b, bool offset) {
  return offset ? __fadd_rn(__fmul_rn(a, q), b) : __fmul_rn(a, q);
}

}  // namespace citadel::runtime::cuda
