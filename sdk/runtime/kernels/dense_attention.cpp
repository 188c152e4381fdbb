// Bidirectional attention (see dense_attention.h). Self-attention of
// sequences: K and V of each (sequence, head) are packed contiguous once; then
// blocks of queries run in parallel: logits by row dot products, the
// relative-position terms, softmax, and the weighted sum of V rows. Queries
// against contiguous K/V: an online softmax over the keys.
#include "runtime/kernels/dense_attention.h"

#include "runtime/core/error.h"
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/tile_matmul.h"
#include "runtime/kernels/vector_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace citadel::runtime {

void dense_attention(ThreadPool& pool, const float* q, const float* k, const float* v, int64_t row_stride,
                     int64_t sequences, int64_t tokens, int64_t heads, int64_t head_dim, float scale, float* out,
                     const RelativePosition2d* rel) {
  if (sequences <= 0 || tokens <= 0) return;
  if (rel != nullptr && rel->grid_h * rel->grid_w != tokens) {
    throw_invalid("dense_attention: relative-position grid " + std::to_string(rel->grid_h) + "x" +
                  std::to_string(rel->grid_w) + " does not hold " + std::to_string(tokens) + " tokens");
  }
  const int64_t pairs = sequences * heads;
  const size_t head_block = static_cast<size_t>(tokens * head_dim);
  std::vector<float> packed_k(static_cast<size_t>(pairs) * head_block);
  std::vector<float> packed_v(packed_k.size());
  pool.parallel_for(0, pairs, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t s = p / heads, h = p % heads;
      float* kd = packed_k.data() + static_cast<size_t>(p) * head_block;
      float* vd = packed_v.data() + static_cast<size_t>(p) * head_block;
      for (int64_t t = 0; t < tokens; ++t) {
        const int64_t offset = (s * tokens + t) * row_stride + h * head_dim;
        std::copy(k + offset, k + offset + head_dim, kd + t * head_dim);
        std::copy(v + offset, v + offset + head_dim, vd + t * head_dim);
      }
    }
  });
  constexpr int64_t kQueryBlock = 16;
  const int64_t blocks_per_pair = (tokens + kQueryBlock - 1) / kQueryBlock;
  pool.parallel_for(0, pairs * blocks_per_pair, [&](int64_t begin, int64_t end) {
    std::vector<float> logits(static_cast<size_t>(tokens));
    std::vector<float> rel_h(rel != nullptr ? static_cast<size_t>(rel->grid_h) : 0);
    std::vector<float> rel_w(rel != nullptr ? static_cast<size_t>(rel->grid_w) : 0);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t p = task / blocks_per_pair, s = p / heads, h = p % heads;
      const float* kd = packed_k.data() + static_cast<size_t>(p) * head_block;
      const float* vd = packed_v.data() + static_cast<size_t>(p) * head_block;
      const int64_t t0 = (task % blocks_per_pair) * kQueryBlock;
      const int64_t t1 = std::min(tokens, t0 + kQueryBlock);
      for (int64_t t = t0; t < t1; ++t) {
        const float* qt = q + (s * tokens + t) * row_stride + h * head_dim;
        std::fill(logits.begin(), logits.end(), 0.0f);
        detail::dot_rows(qt, kd, head_dim, tokens, head_dim, logits.data());
        for (float& l : logits) l *= scale;
        if (rel != nullptr) {
          const int64_t gh = rel->grid_h, gw = rel->grid_w, qy = t / gw, qx = t % gw;
          for (int64_t ky = 0; ky < gh; ++ky) {
            rel_h[static_cast<size_t>(ky)] = detail::dot(qt, rel->table_h + (qy - ky + gh - 1) * head_dim, head_dim);
          }
          for (int64_t kx = 0; kx < gw; ++kx) {
            rel_w[static_cast<size_t>(kx)] = detail::dot(qt, rel->table_w + (qx - kx + gw - 1) * head_dim, head_dim);
          }
          for (int64_t ky = 0; ky < gh; ++ky) {
            float* row = logits.data() + ky * gw;
            const float bh = rel_h[static_cast<size_t>(ky)];
            for (int64_t kx = 0; kx < gw; ++kx) row[kx] += bh + rel_w[static_cast<size_t>(kx)];
          }
        }
        softmax(logits.data(), 1, tokens);
        float* o = out + (s * tokens + t) * heads * head_dim + h * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        for (int64_t j = 0; j < tokens; ++j) detail::axpy(logits[static_cast<size_t>(j)], vd + j * head_dim, o, head_dim);
      }
    }
  });
}



void dense_attention(ThreadPool& pool, const float* q, int64_t num_queries, const float* k, const float* v,
                     int64_t num_keys, int64_t num_heads, int64_t head_dim, float scale, float* out) {
  if (num_keys <= 0) throw_invalid("dense_attention: no keys to attend to");
  const int64_t row = num_heads * head_dim;
  pool.parallel_for(0, num_queries * num_heads, [&](int64_t begin, int64_t end) {
    std::vector<float> accumulator(static_cast<size_t>(head_dim));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / num_heads, h = task % num_heads;
      const float* query = q + t * row + h * head_dim;
      std::fill(accumulator.begin(), accumulator.end(), 0.0f);
      float running_max = -std::numeric_limits<float>::infinity();
      float denominator = 0.0f;
      for (int64_t j = 0; j < num_keys; ++j) {
        const float score = scale * detail::dot(query, k + j * row + h * head_dim, head_dim);
        if (score > running_max) {
          const float correction = std::exp(running_max - score);
          for (float& a : accumulator) a *= correction;
          denominator *= correction;
          running_max = score;
        }
        const float weight = std::exp(score - running_max);
        denominator += weight;
        detail::axpy(weight, v + j * row + h * head_dim, accumulator.data(), head_dim);
      }
      float* destination = out + t * row + h * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) destination[d] = accumulator[static_cast<size_t>(d)] / denominator;
    }
  }, 4);
}

}  // namespace citadel::runtime
