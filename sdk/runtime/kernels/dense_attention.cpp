// Unmasked multi-head attention with an online softmax (see dense_attention.h).
#include "runtime/kernels/dense_attention.h"

#include "runtime/core/error.h"
#include "runtime/kernels/vector_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace citadel::runtime {

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
