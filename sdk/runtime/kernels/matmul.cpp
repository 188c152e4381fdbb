// Dense matmul: blocks of kRowBlock W rows, kChunk inputs at a time,
// converted to f32 once (f16/bf16) and dotted with every token; AVX2+FMA+F16C
// versions of the conversion and the dot products, portable fallbacks.
#include "runtime/kernels/matmul.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/tile_matmul.h"
#include "runtime/kernels/vector_ops.h"

#include <algorithm>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CITADEL_X86 1
#endif

namespace citadel::runtime {
namespace {

constexpr int64_t kRowBlock = 8;
constexpr int64_t kChunk = 512;  // 8 rows x 512 f32 = 16 KiB: stays in L1

// dst[0..n) = n f16/bf16 elements from `src`, as f32.
void convert_portable(const uint16_t* src, DType dtype, int64_t n, float* dst) {
  if (dtype == DType::f16) {
    half_to_float(src, dst, static_cast<size_t>(n));
  } else {
    bfloat16_to_float(src, dst, static_cast<size_t>(n));
  }
}

// out[r] += dot(x, w + r * w_stride) over n elements, r < rows.
void dot_rows_portable(const float* x, const float* w, int64_t w_stride, int64_t rows, int64_t n, float* out) {
  for (int64_t r = 0; r < rows; ++r) out[r] += detail::dot(x, w + r * w_stride, n);
}

#ifdef CITADEL_X86
__attribute__((target("avx2,fma,f16c"))) void convert_avx2(const uint16_t* src, DType dtype, int64_t n,
                                                            float* dst) {
  int64_t i = 0;
  if (dtype == DType::f16) {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    }
    for (; i < n; ++i) dst[i] = half_to_float(src[i]);
  } else {
    for (; i + 8 <= n; i += 8) {
      const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
    }
    for (; i < n; ++i) dst[i] = bfloat16_to_float(src[i]);
  }
}

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* x, const float* w, int64_t w_stride,
                                                        int64_t rows, int64_t n, float* out) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {  // four rows share each load of x
    const float* w0 = w + r * w_stride;
    const float* w1 = w0 + w_stride;
    const float* w2 = w1 + w_stride;
    const float* w3 = w2 + w_stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 u = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(x + i + 8);
      a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w0 + i), a0);
      a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w1 + i), a1);
      a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w2 + i), a2);
      a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w3 + i), a3);
      b0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w0 + i + 8), b0);
      b1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w1 + i + 8), b1);
      b2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w2 + i + 8), b2);
      b3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w3 + i + 8), b3);
    }
    float s0 = horizontal_sum(_mm256_add_ps(a0, b0)), s1 = horizontal_sum(_mm256_add_ps(a1, b1));
    float s2 = horizontal_sum(_mm256_add_ps(a2, b2)), s3 = horizontal_sum(_mm256_add_ps(a3, b3));
    for (; i < n; ++i) {
      s0 += x[i] * w0[i];
      s1 += x[i] * w1[i];
      s2 += x[i] * w2[i];
      s3 += x[i] * w3[i];
    }
    out[r] += s0;
    out[r + 1] += s1;
    out[r + 2] += s2;
    out[r + 3] += s3;
  }
  for (; r < rows; ++r) {
    const float* wr = w + r * w_stride;
    __m256 a = _mm256_setzero_ps(), b = a;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(wr + i), a);
      b = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(wr + i + 8), b);
    }
    float s = horizontal_sum(_mm256_add_ps(a, b));
    for (; i < n; ++i) s += x[i] * wr[i];
    out[r] += s;
  }
}
#endif

}  // namespace

void detail::dot_rows(const float* x, const float* w, int64_t w_stride, int64_t rows, int64_t n, float* out) {
#ifdef CITADEL_X86
  if (detail::use_avx2_kernels()) {
    dot_rows_avx2(x, w, w_stride, rows, n, out);
    return;
  }
#endif
  dot_rows_portable(x, w, w_stride, rows, n, out);
}

void matmul(ThreadPool& pool, const float* x, int64_t m, int64_t in, const void* weight,
            DType weight_dtype, int64_t out, float* y, const float* bias) {
  if (weight_dtype != DType::f32 && weight_dtype != DType::f16 && weight_dtype != DType::bf16) {
    throw_unsupported("matmul: weight dtype " + std::string(dtype_name(weight_dtype)) +
                      " is not supported (f32, f16, bf16)");
  }
  if (m <= 0 || out <= 0) return;
  auto convert = &convert_portable;
  auto dot_rows = &dot_rows_portable;
#ifdef CITADEL_X86
  if (detail::use_avx2_kernels()) {
    convert = &convert_avx2;
    dot_rows = &dot_rows_avx2;
  }
#endif
  const DType dtype = weight_dtype;
  const int64_t num_blocks = (out + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(0, num_blocks, [&](int64_t block_begin, int64_t block_end) {
    std::vector<float> rows(dtype == DType::f32 ? 0 : static_cast<size_t>(kRowBlock * kChunk));
    std::vector<float> acc(static_cast<size_t>(m * kRowBlock));
    for (int64_t block = block_begin; block < block_end; ++block) {
      const int64_t row0 = block * kRowBlock;
      const int64_t count = std::min(kRowBlock, out - row0);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t i0 = 0; i0 < in; i0 += kChunk) {
        const int64_t n = std::min(kChunk, in - i0);
        const float* w = nullptr;
        int64_t w_stride = 0;
        if (dtype == DType::f32) {
          w = static_cast<const float*>(weight) + row0 * in + i0;
          w_stride = in;
        } else {
          const uint16_t* src = static_cast<const uint16_t*>(weight) + row0 * in + i0;
          for (int64_t r = 0; r < count; ++r) convert(src + r * in, dtype, n, rows.data() + r * kChunk);
          w = rows.data();
          w_stride = kChunk;
        }
        for (int64_t t = 0; t < m; ++t) dot_rows(x + t * in + i0, w, w_stride, count, n, acc.data() + t * kRowBlock);
      }
      for (int64_t t = 0; t < m; ++t) {
        for (int64_t r = 0; r < count; ++r) {
          y[t * out + row0 + r] = acc[static_cast<size_t>(t * kRowBlock + r)] + (bias != nullptr ? bias[row0 + r] : 0.0f);
        }
      }
    }
  });
}

}  // namespace citadel::runtime
