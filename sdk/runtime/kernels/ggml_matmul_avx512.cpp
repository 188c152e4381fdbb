// AVX-512 loops of the ggml block matmul (ggml_matmul_avx512.h). Compiled
// with per-function target attributes; called only after the run-time check.
// The loops over rows and tokens are unrolled (pragmas) so that the
// accumulators stay in registers at -O2.
#include "runtime/kernels/ggml_matmul_avx512.h"

#include <cstring>

#include "runtime/kernels/avx512_intrinsics.h"

namespace citadel::runtime::detail {

#ifdef CITADEL_X86_64
namespace {

// How far ahead of the block being decoded each row is prefetched.
constexpr int64_t kPrefetchBytes = 3072;  // measured: 768 -> 3072 cut CPU time by a quarter

// One 32-value block decoded to two 16-lane vectors of its codes (q0: values
// 0..15, q1: 16..31) and its scale d and offset m (value = d * q + m).
struct DecodedBlock {
  __m512 q0, q1;
  float d, m;
};

CITADEL_AVX512 inline void two_halves(const uint8_t* bits, float& first, float& second) {
  uint32_t pair;
  std::memcpy(&pair, bits, 4);
  const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(pair)));
  first = _mm_cvtss_f32(both);
  second = _mm_cvtss_f32(_mm_movehdup_ps(both));
}

CITADEL_AVX512 inline float one_half(const uint8_t* bits) {
  uint16_t h;
  std::memcpy(&h, bits, 2);
  return _cvtsh_ss(h);
}

// 16 bytes of nibbles: low nibbles are values 0..15, high nibbles 16..31.
CITADEL_AVX512 inline void nibbles(const uint8_t* qs, __m512& q0, __m512& q1) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  q0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(packed, mask)));
  q1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(packed, 4), mask)));
}

struct Q4_0 {
  static constexpr int64_t kBytes = sizeof(BlockQ4_0);
  static constexpr bool kOffset = true;
  CITADEL_AVX512 static void decode(const uint8_t* block, DecodedBlock& b) {
    b.d = one_half(block);
    b.m = -8.0f * b.d;  // d (q - 8) = d q - 8 d
    nibbles(block + 2, b.q0, b.q1);
  }
};

struct Q4_1 {
  static constexpr int64_t kBytes = sizeof(BlockQ4_1);
  static constexpr bool kOffset = true;
  CITADEL_AVX512 static void decode(const uint8_t* block, DecodedBlock& b) {
    two_halves(block, b.d, b.m);
    nibbles(block + 4, b.q0, b.q1);
  }
};

struct Q8_0 {
  static constexpr int64_t kBytes = sizeof(BlockQ8_0);
  static constexpr bool kOffset = false;
  CITADEL_AVX512 static void decode(const uint8_t* block, DecodedBlock& b) {
    b.d = one_half(block);
    b.m = 0.0f;
    b.q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2))));
    b.q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 18))));
  }
};

template <typename Format, int kRows>
CITADEL_AVX512 void rows_dot_fixed(const uint8_t* const* rows, const float* x, int64_t n, float* out) {
  __m512 acc[kRows];
  #pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / kQk; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * kQk), x1 = _mm512_loadu_ps(x + b * kQk + 16);
    const __m512 x_sum = _mm512_add_ps(x0, x1);
    #pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(rows[r] + b * Format::kBytes + kPrefetchBytes), _MM_HINT_T0);
      DecodedBlock block;
      Format::decode(rows[r] + b * Format::kBytes, block);
      const __m512 qx = _mm512_fmadd_ps(block.q1, x1, _mm512_mul_ps(block.q0, x0));
      acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(block.d), qx, acc[r]);
      if constexpr (Format::kOffset) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(block.m), x_sum, acc[r]);
    }
  }
  #pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

template <typename Format>
CITADEL_AVX512 void rows_dot(const uint8_t* const* rows, int64_t count, const float* x, int64_t n, float* out) {
  switch (count) {
    case 4: rows_dot_fixed<Format, 4>(rows, x, n, out); return;
    case 3: rows_dot_fixed<Format, 3>(rows, x, n, out); return;
    case 2: rows_dot_fixed<Format, 2>(rows, x, n, out); return;
    case 1: rows_dot_fixed<Format, 1>(rows, x, n, out); return;
    default: return;
  }
}

// Whole blocks to f32 (d * q + m), for the chunks that several tokens share.
template <typename Format>
CITADEL_AVX512 void dequantize_blocks(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQk; ++b) {
    DecodedBlock block;
    Format::decode(blocks + b * Format::kBytes, block);
    const __m512 d = _mm512_set1_ps(block.d), m = _mm512_set1_ps(block.m);
    _mm512_storeu_ps(out + b * kQk, _mm512_fmadd_ps(block.q0, d, m));
    _mm512_storeu_ps(out + b * kQk + 16, _mm512_fmadd_ps(block.q1, d, m));
  }
}

template <int kTokens>
CITADEL_AVX512 void token_tile(const float* x, int64_t x_stride, const float* rows, int64_t row_stride, int64_t count,
                               int64_t n, float* acc, int64_t acc_stride) {
  __m512 a[kTokens][4];
  #pragma GCC unroll 16
  for (int t = 0; t < kTokens; ++t) {
    #pragma GCC unroll 16
    for (int r = 0; r < 4; ++r) a[t][r] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < n; i += 16) {
    __m512 w[4];
    #pragma GCC unroll 16
    for (int r = 0; r < 4; ++r) w[r] = _mm512_loadu_ps(rows + r * row_stride + i);
    #pragma GCC unroll 16
    for (int t = 0; t < kTokens; ++t) {
      const __m512 xv = _mm512_loadu_ps(x + t * x_stride + i);
      #pragma GCC unroll 16
      for (int r = 0; r < 4; ++r) a[t][r] = _mm512_fmadd_ps(xv, w[r], a[t][r]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < kTokens; ++t) {
    #pragma GCC unroll 16
    for (int r = 0; r < count; ++r) acc[t * acc_stride + r] += _mm512_reduce_add_ps(a[t][r]);
  }
}

}  // namespace

GgmlRowsDotFn ggml_rows_dot_avx512(GgmlType type) {
  switch (type) {
    case GgmlType::q4_0: return rows_dot<Q4_0>;
    case GgmlType::q4_1: return rows_dot<Q4_1>;
    case GgmlType::q8_0: return rows_dot<Q8_0>;
    default: return nullptr;
  }
}

GgmlDequantizeFn ggml_dequantizer_avx512(GgmlType type) {
  switch (type) {
    case GgmlType::q4_0: return dequantize_blocks<Q4_0>;
    case GgmlType::q4_1: return dequantize_blocks<Q4_1>;
    case GgmlType::q8_0: return dequantize_blocks<Q8_0>;
    default: return nullptr;
  }
}

CITADEL_AVX512 void token_dots_avx512(const float* x, int64_t x_stride, int64_t m, const float* rows,
                                      int64_t row_stride, int64_t count, int64_t n, float* acc, int64_t acc_stride) {
  int64_t t = 0;
  for (; t + 4 <= m; t += 4) token_tile<4>(x + t * x_stride, x_stride, rows, row_stride, count, n, acc + t * acc_stride, acc_stride);
  for (; t < m; ++t) token_tile<1>(x + t * x_stride, x_stride, rows, row_stride, count, n, acc + t * acc_stride, acc_stride);
}

#else  // not x86-64: never called (use_avx512_kernels() is false)

GgmlRowsDotFn ggml_rows_dot_avx512(GgmlType) { return nullptr; }
GgmlDequantizeFn ggml_dequantizer_avx512(GgmlType) { return nullptr; }
void token_dots_avx512(const float*, int64_t, int64_t, const float*, int64_t, int64_t, int64_t, float*, int64_t) {}

#endif

}  // namespace citadel::runtime::detail
