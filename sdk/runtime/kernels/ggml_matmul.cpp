// ggml_matmul: blocks of kRowBlock weight rows, kChunk inputs at a time,
// dequantized once per chunk and dotted with every token (detail::dot_rows,
// or the AVX-512 4x4 token tile); a single token of Q4_0/Q4_1/Q8_0 takes
// fused four-row dots instead (ggml_matmul_avx512.h, ggml_matmul_avx2.h).
#include "runtime/kernels/ggml_matmul.h"

#include "runtime/core/error.h"
#include "runtime/kernels/ggml_dequantize.h"
#include "runtime/kernels/ggml_matmul_avx2.h"
#include "runtime/kernels/ggml_matmul_avx512.h"
#include "runtime/kernels/tile_matmul.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CITADEL_X86 1
#endif

namespace citadel::runtime {
namespace {

constexpr int64_t kRowBlock = 4;
constexpr int64_t kChunk = 1024;  // a multiple of 256 (K-quant super-blocks); 4 rows x 4 KiB

using DequantizeFn = detail::GgmlDequantizeFn;

void dequantize_portable(GgmlType type, const uint8_t* blocks, int64_t n, float* out) {
  dequantize_row(type, blocks, n, out);
}

#ifdef CITADEL_X86
// 16 packed nibbles -> 32 f32 values (low nibbles first, as in Q4_0/Q4_1) as d*q + offset.
__attribute__((target("avx2,fma"))) inline void nibbles_to_floats(const uint8_t* qs, __m256 d, __m256 offset,
                                                                    float* out) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i low = _mm_and_si128(packed, mask);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  const __m128i parts[4] = {low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)};
  for (int p = 0; p < 4; ++p) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[p]));
    _mm256_storeu_ps(out + 8 * p, _mm256_fmadd_ps(d, q, offset));
  }
}

__attribute__((target("avx2,fma,f16c"))) void dequantize_q4_0_avx2(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQk; ++b) {
    const uint8_t* block = blocks + b * static_cast<int64_t>(sizeof(BlockQ4_0));
    uint16_t d_bits;
    std::memcpy(&d_bits, block, 2);
    const float d = _cvtsh_ss(d_bits);
    nibbles_to_floats(block + 2, _mm256_set1_ps(d), _mm256_set1_ps(-8.0f * d), out + b * kQk);
  }
}

__attribute__((target("avx2,fma,f16c"))) void dequantize_q4_1_avx2(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQk; ++b) {
    const uint8_t* block = blocks + b * static_cast<int64_t>(sizeof(BlockQ4_1));
    uint16_t bits[2];
    std::memcpy(bits, block, 4);
    nibbles_to_floats(block + 4, _mm256_set1_ps(_cvtsh_ss(bits[0])), _mm256_set1_ps(_cvtsh_ss(bits[1])),
                      out + b * kQk);
  }
}

__attribute__((target("avx2,fma,f16c"))) void dequantize_q8_0_avx2(const uint8_t* blocks, int64_t n, float* out) {
  for (int64_t b = 0; b < n / kQk; ++b) {
    const uint8_t* block = blocks + b * static_cast<int64_t>(sizeof(BlockQ8_0));
    uint16_t d_bits;
    std::memcpy(&d_bits, block, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(d_bits));
    for (int p = 0; p < 4; ++p) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * p));
      const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
      _mm256_storeu_ps(out + b * kQk + 8 * p, _mm256_mul_ps(q, d));
    }
  }
}

#endif

// The fused one-token kernel (AVX-512, else AVX2), or null.
detail::GgmlRowsDotFn fused_rows_dot(GgmlType type) {
  if (detail::use_avx512_kernels()) return detail::ggml_rows_dot_avx512(type);
  if (detail::use_avx2_kernels()) return detail::ggml_rows_dot_avx2(type);
  return nullptr;
}

DequantizeFn fast_dequantizer(GgmlType type) {
  if (detail::use_avx512_kernels()) {
    if (const DequantizeFn fn = detail::ggml_dequantizer_avx512(type)) return fn;
  }
#ifdef CITADEL_X86
  if (detail::use_avx2_kernels()) {
    switch (type) {
      case GgmlType::q4_0: return dequantize_q4_0_avx2;
      case GgmlType::q4_1: return dequantize_q4_1_avx2;
      case GgmlType::q8_0: return dequantize_q8_0_avx2;
      default: break;
    }
  }
#endif
  (void)type;
  return nullptr;
}

void check_matrix(const GgmlMatrix& weight, const char* who) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(weight.type));
  if (traits.name == nullptr) {
    throw_unsupported(std::string(who) + ": ggml type " + ggml_type_name(static_cast<uint32_t>(weight.type)) +
                      " is not supported");
  }
  if (weight.cols % traits.block_size != 0) {
    throw_invalid(std::string(who) + ": rows of " + std::to_string(weight.cols) + " values are not whole " +
                  traits.name + " blocks");
  }
}

}  // namespace

void ggml_matmul(ThreadPool& pool, const float* x, int64_t m, const GgmlMatrix& weight, float* y,
                 const float* bias, const int32_t* row_order) {
  check_matrix(weight, "ggml_matmul");
  if (m <= 0 || weight.rows <= 0) return;
  const int64_t in = weight.cols, out = weight.rows;
  const int64_t row_bytes = weight.row_bytes();
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(weight.type));
  const DequantizeFn fast = fast_dequantizer(weight.type);
  const bool avx512 = detail::use_avx512_kernels();
  const detail::GgmlRowsDotFn fused_rows = m == 1 ? fused_rows_dot(weight.type) : nullptr;
  const GgmlType type = weight.type;
  const int64_t num_blocks = (out + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(0, num_blocks, [&](int64_t block_begin, int64_t block_end) {
    // The f32 chunk buffer only where rows are dequantized (not f32, not fused).
    const bool buffered = type != GgmlType::f32 && fused_rows == nullptr;
    std::vector<float> rows(buffered ? static_cast<size_t>(kRowBlock * kChunk) : 0);
    std::vector<float> acc(static_cast<size_t>(m * kRowBlock));
    const uint8_t* sources[kRowBlock];
    for (int64_t block = block_begin; block < block_end; ++block) {
      const int64_t row0 = block * kRowBlock;
      const int64_t count = std::min(kRowBlock, out - row0);
      for (int64_t r = 0; r < count; ++r) {
        const int64_t stored = row_order != nullptr ? row_order[row0 + r] : row0 + r;
        sources[r] = weight.data + stored * row_bytes;
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      if (fused_rows != nullptr) fused_rows(sources, count, x, in, acc.data());  // one token: no f32 buffer
      for (int64_t i0 = 0; fused_rows == nullptr && i0 < in; i0 += kChunk) {
        const int64_t n = std::min(kChunk, in - i0);
        const int64_t byte0 = i0 / traits.block_size * traits.type_size;
        if (type == GgmlType::f32) {
          for (int64_t r = 0; r < count; ++r) {
            const float* w = reinterpret_cast<const float*>(sources[r] + byte0);
            for (int64_t t = 0; t < m; ++t) detail::dot_rows(x + t * in + i0, w, n, 1, n, acc.data() + t * kRowBlock + r);
          }
          continue;
        }
        for (int64_t r = 0; r < count; ++r) {
          if (fast != nullptr) {
            fast(sources[r] + byte0, n, rows.data() + r * kChunk);
          } else {
            dequantize_portable(type, sources[r] + byte0, n, rows.data() + r * kChunk);
          }
        }
        if (avx512) {
          detail::token_dots_avx512(x + i0, in, m, rows.data(), kChunk, count, n, acc.data(), kRowBlock);
          continue;
        }
        for (int64_t t = 0; t < m; ++t) {
          detail::dot_rows(x + t * in + i0, rows.data(), kChunk, count, n, acc.data() + t * kRowBlock);
        }
      }
      for (int64_t t = 0; t < m; ++t) {
        for (int64_t r = 0; r < count; ++r) {
          y[t * out + row0 + r] = acc[static_cast<size_t>(t * kRowBlock + r)] + (bias != nullptr ? bias[row0 + r] : 0.0f);
        }
      }
    }
  });
}

void ggml_rows(const GgmlMatrix& table, const int32_t* ids, int64_t count, float* out) {
  check_matrix(table, "ggml_rows");
  for (int64_t i = 0; i < count; ++i) {
    if (ids[i] < 0 || ids[i] >= table.rows) {
      throw_invalid("embedding: token id " + std::to_string(ids[i]) + " is outside the table of " +
                    std::to_string(table.rows) + " rows");
    }
    dequantize_row(table.type, table.row(ids[i]), table.cols, out + i * table.cols);
  }
}

}  // namespace citadel::runtime
