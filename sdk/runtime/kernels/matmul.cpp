// Dense matmul. Few tokens: convert a block of W rows to f32 and take dot
// products with 16 independent lanes (vectorizes without -ffast-math).
// More tokens: expand a tile of W rows to f32 (transposed) once and reuse it
// for every token through tile_matmul.
#include "runtime/kernels/matmul.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/tile_matmul.h"
#include "runtime/kernels/vector_ops.h"

#include <algorithm>
#include <vector>

namespace citadel::runtime {
namespace {

constexpr int64_t kFewTokens = 4;
constexpr int64_t kRowBlock = 8;

// dst[0..n) = the f16/bf16 elements of `weight` from `offset`, as f32.
void convert_row(const void* weight, DType dtype, int64_t offset, int64_t n, float* dst) {
  const uint16_t* w = static_cast<const uint16_t*>(weight) + offset;
  if (dtype == DType::f16) {
    half_to_float(w, dst, static_cast<size_t>(n));
  } else {
    bfloat16_to_float(w, dst, static_cast<size_t>(n));
  }
}

void matmul_few_tokens(ThreadPool& pool, const float* x, int64_t m, int64_t in, const void* weight,
                       DType dtype, int64_t out, float* y, const float* bias) {
  const int64_t num_blocks = (out + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(0, num_blocks, [&](int64_t block_begin, int64_t block_end) {
    std::vector<float> rows(dtype == DType::f32 ? 0 : static_cast<size_t>(kRowBlock * in));
    for (int64_t block = block_begin; block < block_end; ++block) {
      const int64_t row0 = block * kRowBlock;
      const int64_t count = std::min(kRowBlock, out - row0);
      const float* w = nullptr;
      if (dtype == DType::f32) {
        w = static_cast<const float*>(weight) + row0 * in;
      } else {
        for (int64_t r = 0; r < count; ++r) convert_row(weight, dtype, (row0 + r) * in, in, rows.data() + r * in);
        w = rows.data();
      }
      for (int64_t t = 0; t < m; ++t) {
        for (int64_t r = 0; r < count; ++r) {
          y[t * out + row0 + r] = detail::dot(x + t * in, w + r * in, in) + (bias != nullptr ? bias[row0 + r] : 0.0f);
        }
      }
    }
  });
}

void matmul_many_tokens(ThreadPool& pool, const float* x, int64_t m, int64_t in, const void* weight,
                        DType dtype, int64_t out, float* y, const float* bias) {
  constexpr int64_t K = detail::kTileColumns;
  const int64_t num_tiles = (out + K - 1) / K;
  pool.parallel_for(0, num_tiles, [&](int64_t tile_begin, int64_t tile_end) {
    std::vector<float> tile(static_cast<size_t>(in * K), 0.0f);
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t tile_index = tile_begin; tile_index < tile_end; ++tile_index) {
      const int64_t col0 = tile_index * K;
      const int64_t columns = std::min(K, out - col0);
      for (int64_t c = 0; c < columns; ++c) {
        const float* src = nullptr;
        if (dtype == DType::f32) {
          src = static_cast<const float*>(weight) + (col0 + c) * in;
        } else {
          convert_row(weight, dtype, (col0 + c) * in, in, row.data());
          src = row.data();
        }
        float* dst = tile.data() + c;
        for (int64_t i = 0; i < in; ++i) dst[i * K] = src[i];
      }
      detail::tile_matmul(x, m, in, tile.data(), columns, y + col0, out, bias != nullptr ? bias + col0 : nullptr);
    }
  });
}

}  // namespace

void matmul(ThreadPool& pool, const float* x, int64_t m, int64_t in, const void* weight,
            DType weight_dtype, int64_t out, float* y, const float* bias) {
  if (weight_dtype != DType::f32 && weight_dtype != DType::f16 && weight_dtype != DType::bf16) {
    throw_unsupported("matmul: weight dtype " + std::string(dtype_name(weight_dtype)) +
                      " is not supported (f32, f16, bf16)");
  }
  if (m <= 0 || out <= 0) return;
  if (m <= kFewTokens) {
    matmul_few_tokens(pool, x, m, in, weight, weight_dtype, out, y, bias);
  } else {
    matmul_many_tokens(pool, x, m, in, weight, weight_dtype, out, y, bias);
  }
}

}  // namespace citadel::runtime
