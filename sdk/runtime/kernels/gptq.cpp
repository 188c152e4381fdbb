// GptqLinear: unpack GPTQ tiles to f32 (AVX2 or portable) and multiply them
// with every token through tile_accumulate.
#include "runtime/kernels/gptq.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/tile_matmul.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CITADEL_X86 1
#endif

namespace citadel::runtime {

namespace {

constexpr int64_t K = detail::kTileColumns;

// Where one tile's packed rows and per-group tables start.
struct PackedTile {
  const uint32_t* qweight;   // qweight + col0: word row r at qweight[r * stride]
  const float* scales;       // scales + col0: group g at scales[g * stride]
  const float* scaled_zeros; // likewise
  const int32_t* group_of_input;
  int64_t stride;            // out_features
  int bits;
};

// Full-width rows: tile[i][c] = q(i, c) * s(g(i), c) - zs(g(i), c).
void unpack_rows_portable(const PackedTile& p, int64_t row_begin, int64_t row_end, float* __restrict tile) {
  const int64_t per_word = 32 / p.bits;
  const uint32_t mask = (1u << p.bits) - 1u;
  for (int64_t i = row_begin; i < row_end; ++i) {
    const int shift = static_cast<int>((i % per_word) * p.bits);
    const uint32_t* __restrict q = p.qweight + (i / per_word) * p.stride;
    const int64_t g = p.group_of_input[i];
    const float* __restrict s = p.scales + g * p.stride;
    const float* __restrict zs = p.scaled_zeros + g * p.stride;
    float* __restrict row = tile + (i - row_begin) * K;
    for (int64_t c = 0; c < K; ++c) {
      row[c] = static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask)) * s[c] - zs[c];
    }
  }
}

#ifdef CITADEL_X86
__attribute__((target("avx2,fma"))) void unpack_rows_avx2(const PackedTile& p, int64_t row_begin,
                                                           int64_t row_end, float* __restrict tile) {
  const int64_t per_word = 32 / p.bits;
  const __m256i mask = _mm256_set1_epi32(static_cast<int>((1u << p.bits) - 1u));
  for (int64_t i = row_begin; i < row_end; ++i) {
    const __m128i shift = _mm_cvtsi32_si128(static_cast<int>((i % per_word) * p.bits));
    const uint32_t* q = p.qweight + (i / per_word) * p.stride;
    const int64_t g = p.group_of_input[i];
    const float* s = p.scales + g * p.stride;
    const float* zs = p.scaled_zeros + g * p.stride;
    float* row = tile + (i - row_begin) * K;
    for (int64_t c = 0; c < K; c += 8) {
      const __m256i words = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + c));
      const __m256 value = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(words, shift), mask));
      _mm256_storeu_ps(row + c, _mm256_fmsub_ps(value, _mm256_loadu_ps(s + c), _mm256_loadu_ps(zs + c)));
    }
  }
}

// One token, rows [row_begin, row_end) of one group: acc[c] += x[i] * q(i, c).
// Bits is a template argument so the shifts are immediates and the loop over
// the values of one word unrolls.
template <int Bits>
__attribute__((target("avx2,fma"))) void accumulate_group_avx2(const uint32_t* qweight, int64_t stride,
                                                                const float* x, int64_t row_begin,
                                                                int64_t row_end, float* acc) {
  constexpr int64_t kPerWord = 32 / Bits;
  const __m256i mask = _mm256_set1_epi32((1 << Bits) - 1);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t w = row_begin / kPerWord; w < row_end / kPerWord; ++w) {
    const uint32_t* q = qweight + w * stride;
    const float* xw = x + w * kPerWord;
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 8));
    const __m256i q2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 16));
    const __m256i q3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 24));
#pragma GCC unroll 8
    for (int k = 0; k < kPerWord; ++k) {
      const __m256 u = _mm256_broadcast_ss(xw + k);
      a0 = _mm256_fmadd_ps(u, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q0, k * Bits), mask)), a0);
      a1 = _mm256_fmadd_ps(u, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q1, k * Bits), mask)), a1);
      a2 = _mm256_fmadd_ps(u, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q2, k * Bits), mask)), a2);
      a3 = _mm256_fmadd_ps(u, _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(q3, k * Bits), mask)), a3);
    }
  }
  _mm256_storeu_ps(acc, a0);
  _mm256_storeu_ps(acc + 8, a1);
  _mm256_storeu_ps(acc + 16, a2);
  _mm256_storeu_ps(acc + 24, a3);
}

void accumulate_group_avx2_dispatch(const uint32_t* qweight, int64_t stride, int bits, const float* x,
                                    int64_t row_begin, int64_t row_end, float* acc) {
  if (bits == 4) {
    accumulate_group_avx2<4>(qweight, stride, x, row_begin, row_end, acc);
  } else {
    accumulate_group_avx2<8>(qweight, stride, x, row_begin, row_end, acc);
  }
}
#endif

void accumulate_group_portable(const uint32_t* qweight, int64_t stride, int bits, const float* x,
                               int64_t row_begin, int64_t row_end, float* __restrict acc) {
  const int64_t per_word = 32 / bits;
  const uint32_t mask = (1u << bits) - 1u;
  for (int64_t c = 0; c < K; ++c) acc[c] = 0.0f;
  for (int64_t i = row_begin; i < row_end; ++i) {
    const uint32_t* __restrict q = qweight + (i / per_word) * stride;
    const int shift = static_cast<int>((i % per_word) * bits);
    const float u = x[i];
    for (int64_t c = 0; c < K; ++c) acc[c] += u * static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask));
  }
}

}  // namespace

int64_t gptq_num_groups(int64_t in_features, int64_t group_size) {
  if (group_size <= 0) return 1;
  return (in_features + group_size - 1) / group_size;
}

GptqLinear::GptqLinear(const GptqTensors& t, std::string name)
    : name_(std::move(name)), bits_(t.bits), in_(t.in_features), out_(t.out_features),
      qweight_(t.qweight) {
  if (bits_ != 4 && bits_ != 8) {
    throw_unsupported(name_ + ": " + std::to_string(bits_) + "-bit GPTQ is not supported (4 or 8)");
  }
  const int64_t per_word = 32 / bits_;
  if (in_ <= 0 || out_ <= 0 || in_ % per_word != 0 || out_ % per_word != 0) {
    throw_invalid(name_ + ": in_features " + std::to_string(in_) + " and out_features " +
                  std::to_string(out_) + " must be positive multiples of " + std::to_string(per_word));
  }
  if (t.group_size == 0 || t.group_size < -1) {
    throw_invalid(name_ + ": invalid group_size " + std::to_string(t.group_size));
  }
  if (t.qweight == nullptr || t.qzeros == nullptr || t.scales == nullptr) {
    throw_invalid(name_ + ": qweight, qzeros and scales are required");
  }
  num_groups_ = gptq_num_groups(in_, t.group_size);
  group_of_input_.resize(static_cast<size_t>(in_));
  for (int64_t i = 0; i < in_; ++i) {
    int64_t g = t.g_idx != nullptr ? t.g_idx[i] : (t.group_size > 0 ? i / t.group_size : 0);
    if (g < 0 || g >= num_groups_) {
      throw_invalid(name_ + ".g_idx: entry " + std::to_string(i) + " is " + std::to_string(g) +
                    ", outside [0, " + std::to_string(num_groups_) + ")");
    }
    group_of_input_[static_cast<size_t>(i)] = static_cast<int32_t>(g);
  }
  const int64_t rows_per_group = t.group_size > 0 ? t.group_size : in_;
  if (rows_per_group % per_word == 0) {
    bool contiguous = true;
    for (int64_t i = 0; i < in_ && contiguous; ++i) contiguous = group_of_input_[static_cast<size_t>(i)] == i / rows_per_group;
    contiguous_group_rows_ = contiguous ? rows_per_group : 0;
  }
  const uint32_t mask = (1u << bits_) - 1u;
  const int64_t zero_words = out_ / per_word;
  scales_.resize(static_cast<size_t>(num_groups_ * out_));
  scaled_zeros_.resize(scales_.size());
  for (int64_t g = 0; g < num_groups_; ++g) {
    for (int64_t o = 0; o < out_; ++o) {
      const auto word = static_cast<uint32_t>(t.qzeros[g * zero_words + o / per_word]);
      uint32_t zero = (word >> ((o % per_word) * bits_)) & mask;
      const float z = static_cast<float>(zero) + (t.zero_format == GptqZeroFormat::v1 ? 1.0f : 0.0f);
      const float s = half_to_float(t.scales[g * out_ + o]);
      scales_[static_cast<size_t>(g * out_ + o)] = s;
      scaled_zeros_[static_cast<size_t>(g * out_ + o)] = z * s;
    }
  }
}

void GptqLinear::unpack_tile(int64_t col0, int64_t row_begin, int64_t row_end, float* tile) const {
  const PackedTile packed{reinterpret_cast<const uint32_t*>(qweight_) + col0, scales_.data() + col0,
                          scaled_zeros_.data() + col0, group_of_input_.data(), out_, bits_};
  const int64_t columns = std::min(K, out_ - col0);
  if (columns < K) {  // last, narrow tile: scalar, zeros beyond `out`
    const int64_t per_word = 32 / bits_;
    const uint32_t mask = (1u << bits_) - 1u;
    for (int64_t i = row_begin; i < row_end; ++i) {
      const int shift = static_cast<int>((i % per_word) * bits_);
      const uint32_t* q = packed.qweight + (i / per_word) * out_;
      const int64_t g = group_of_input_[static_cast<size_t>(i)];
      float* row = tile + (i - row_begin) * K;
      for (int64_t c = 0; c < K; ++c) {
        row[c] = c < columns ? static_cast<float>(static_cast<int32_t>((q[c] >> shift) & mask)) * packed.scales[g * out_ + c] -
                                   packed.scaled_zeros[g * out_ + c]
                             : 0.0f;
      }
    }
    return;
  }
#ifdef CITADEL_X86
  if (detail::use_avx2_kernels()) {
    unpack_rows_avx2(packed, row_begin, row_end, tile);
    return;
  }
#endif
  unpack_rows_portable(packed, row_begin, row_end, tile);
}

void GptqLinear::single_token_tile(const float* x, const float* group_sums, int64_t col0, float* out) const {
  const auto* qweight = reinterpret_cast<const uint32_t*>(qweight_) + col0;
  auto accumulate = &accumulate_group_portable;
#ifdef CITADEL_X86
  if (detail::use_avx2_kernels()) accumulate = &accumulate_group_avx2_dispatch;
#endif
  float dot[K];
  for (int64_t c = 0; c < K; ++c) out[c] = 0.0f;
  for (int64_t g = 0; g < num_groups_; ++g) {
    const int64_t row_begin = g * contiguous_group_rows_;
    accumulate(qweight, out_, bits_, x, row_begin, std::min(in_, row_begin + contiguous_group_rows_), dot);
    const float* s = scales_.data() + g * out_ + col0;
    const float* zs = scaled_zeros_.data() + g * out_ + col0;
    const float sum = group_sums[g];
    for (int64_t c = 0; c < K; ++c) out[c] += s[c] * dot[c] - zs[c] * sum;
  }
}

void GptqLinear::forward(ThreadPool& pool, const float* x, int64_t m, float* y, const float* bias) const {
  if (m <= 0) return;
  constexpr int64_t D = detail::kTileDepth;
  const int64_t num_tiles = (out_ + K - 1) / K;
  const int64_t full_tiles = out_ / K;
  if (m == 1 && contiguous_group_rows_ > 0) {  // decode at batch 1: scale per group, not per weight
    std::vector<float> group_sums(static_cast<size_t>(num_groups_), 0.0f);
    for (int64_t i = 0; i < in_; ++i) group_sums[static_cast<size_t>(i / contiguous_group_rows_)] += x[i];
    pool.parallel_for(0, full_tiles, [&](int64_t tile_begin, int64_t tile_end) {
      float out[K];
      for (int64_t tile_index = tile_begin; tile_index < tile_end; ++tile_index) {
        const int64_t col0 = tile_index * K;
        single_token_tile(x, group_sums.data(), col0, out);
        for (int64_t c = 0; c < K; ++c) y[col0 + c] = out[c] + (bias != nullptr ? bias[col0 + c] : 0.0f);
      }
    });
    if (full_tiles == num_tiles) return;
  }
  const int64_t first_tile = m == 1 && contiguous_group_rows_ > 0 ? full_tiles : 0;
  pool.parallel_for(first_tile, num_tiles, [&](int64_t tile_begin, int64_t tile_end) {
    std::vector<float> tile(static_cast<size_t>(D * K));
    std::vector<float> acc(static_cast<size_t>(m * K));
    for (int64_t tile_index = tile_begin; tile_index < tile_end; ++tile_index) {
      const int64_t col0 = tile_index * K;
      const int64_t columns = std::min(K, out_ - col0);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t row0 = 0; row0 < in_; row0 += D) {
        const int64_t row1 = std::min(in_, row0 + D);
        unpack_tile(col0, row0, row1, tile.data());
        detail::tile_accumulate(x + row0, in_, m, row1 - row0, tile.data(), acc.data());
      }
      for (int64_t t = 0; t < m; ++t) {
        for (int64_t c = 0; c < columns; ++c) {
          y[t * out_ + col0 + c] = acc[static_cast<size_t>(t * K + c)] + (bias != nullptr ? bias[col0 + c] : 0.0f);
        }
      }
    }
  });
}

std::vector<float> GptqLinear::dequantize() const {
  constexpr int64_t D = detail::kTileDepth;
  std::vector<float> weight(static_cast<size_t>(out_ * in_));
  std::vector<float> tile(static_cast<size_t>(D * K));
  for (int64_t col0 = 0; col0 < out_; col0 += K) {
    const int64_t col1 = std::min(out_, col0 + K);
    for (int64_t row0 = 0; row0 < in_; row0 += D) {
      const int64_t row1 = std::min(in_, row0 + D);
      unpack_tile(col0, row0, row1, tile.data());
      for (int64_t c = col0; c < col1; ++c) {
        for (int64_t i = row0; i < row1; ++i) {
          weight[static_cast<size_t>(c * in_ + i)] = tile[static_cast<size_t>((i - row0) * K + (c - col0))];
        }
      }
    }
  }
  return weight;
}

}  // namespace citadel::runtime
