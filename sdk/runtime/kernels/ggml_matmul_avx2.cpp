// AVX2 fused block dots of ggml_matmul (ggml_matmul_avx2.h). Per-function
// target attributes; called only after the run-time check. The row and
// part loops are unrolled (pragmas) so the accumulators stay in registers.
#include "runtime/kernels/ggml_matmul_avx2.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define CITADEL_X86_64 1
#endif

namespace citadel::runtime::detail {

#ifdef CITADEL_X86_64
namespace {

#define CITADEL_AVX2 __attribute__((target("avx2,fma,f16c")))

constexpr int64_t kPrefetchBytes = 3072;  // as the AVX-512 loop

// A 32-value block as four 8-lane vectors of codes, value = d * q + m.
struct Codes {
  __m256 q[4];
  float d, m;
};

CITADEL_AVX2 inline float one_half(const uint8_t* bits) {
  uint16_t h;
  std::memcpy(&h, bits, 2);
  return _cvtsh_ss(h);
}

CITADEL_AVX2 inline void nibbles(const uint8_t* qs, __m256 (&q)[4]) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i low = _mm_and_si128(packed, mask);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  q[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(low));
  q[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(low, 8)));
  q[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(high));
  q[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(high, 8)));
}

struct Q4_0 {
  static constexpr int64_t kBytes = sizeof(BlockQ4_0);
  static constexpr bool kOffset = true;
  CITADEL_AVX2 static void decode(const uint8_t* block, Codes& c) {
    c.d = one_half(block);
    c.m = -8.0f * c.d;
    nibbles(block + 2, c.q);
  }
};

struct Q4_1 {
  static constexpr int64_t kBytes = sizeof(BlockQ4_1);
  static constexpr bool kOffset = true;
  CITADEL_AVX2 static void decode(const uint8_t* block, Codes& c) {
    c.d = one_half(block);
    c.m = one_half(block + 2);
    nibbles(block + 4, c.q);
  }
};

struct Q8_0 {
  static constexpr int64_t kBytes = sizeof(BlockQ8_0);
  static constexpr bool kOffset = false;
  CITADEL_AVX2 static void decode(const uint8_t* block, Codes& c) {
    c.d = one_half(block);
    c.m = 0.0f;
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * p));
      c.q[p] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
    }
  }
};

CITADEL_AVX2 inline float sum_lanes(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <typename Format, int kRows>
CITADEL_AVX2 void rows_dot_fixed(const uint8_t* const* rows, const float* x, int64_t n, float* out) {
  __m256 acc[kRows];
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQk; ++b) {
    __m256 xv[4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) xv[p] = _mm256_loadu_ps(x + b * kQk + 8 * p);
    const __m256 x_sum = _mm256_add_ps(_mm256_add_ps(xv[0], xv[1]), _mm256_add_ps(xv[2], xv[3]));
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(rows[r] + b * Format::kBytes + kPrefetchBytes), _MM_HINT_T0);
      Codes c;
      Format::decode(rows[r] + b * Format::kBytes, c);
      __m256 qx = _mm256_mul_ps(c.q[0], xv[0]);
      qx = _mm256_fmadd_ps(c.q[1], xv[1], qx);
      qx = _mm256_fmadd_ps(c.q[2], xv[2], qx);
      qx = _mm256_fmadd_ps(c.q[3], xv[3], qx);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(c.d), qx, acc[r]);
      if constexpr (Format::kOffset) acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(c.m), x_sum, acc[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r) out[r] = sum_lanes(acc[r]);
}

template <typename Format>
CITADEL_AVX2 void rows_dot(const uint8_t* const* rows, int64_t count, const float* x, int64_t n, float* out) {
  switch (count) {
    case 4: rows_dot_fixed<Format, 4>(rows, x, n, out); return;
    case 3: rows_dot_fixed<Format, 3>(rows, x, n, out); return;
    case 2: rows_dot_fixed<Format, 2>(rows, x, n, out); return;
    case 1: rows_dot_fixed<Format, 1>(rows, x, n, out); return;
    default: return;
  }
}

}  // namespace

GgmlRowsDotFn ggml_rows_dot_avx2(GgmlType type) {
  switch (type) {
    case GgmlType::q4_0: return rows_dot<Q4_0>;
    case GgmlType::q4_1: return rows_dot<Q4_1>;
    case GgmlType::q8_0: return rows_dot<Q8_0>;
    default: return nullptr;
  }
}

#else

GgmlRowsDotFn ggml_rows_dot_avx2(GgmlType) { return nullptr; }

#endif

}  // namespace citadel::runtime::detail
