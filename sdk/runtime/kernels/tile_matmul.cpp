// tile_matmul: four tokens at a time, 32 accumulators per token.
#include "runtime/kernels/tile_matmul.h"

namespace citadel::runtime::detail {

void tile_matmul(const float* x, int64_t m, int64_t in, const float* tile, int64_t columns,
                 float* y, int64_t y_stride, const float* bias) {
  constexpr int64_t K = kTileColumns;
  int64_t t = 0;
  for (; t + 2 <= m; t += 2) {
    float acc0[K] = {}, acc1[K] = {};
    const float* x0 = x + t * in;
    const float* x1 = x0 + in;
    for (int64_t i = 0; i < in; ++i) {
      const float* w = tile + i * K;
      const float a = x0[i], b = x1[i];
      for (int64_t c = 0; c < K; ++c) {
        acc0[c] += a * w[c];
        acc1[c] += b * w[c];
      }
    }
    for (int64_t c = 0; c < columns; ++c) {
      const float b = bias != nullptr ? bias[c] : 0.0f;
      y[t * y_stride + c] = acc0[c] + b;
      y[(t + 1) * y_stride + c] = acc1[c] + b;
    }
  }
  for (; t < m; ++t) {
    float acc[K] = {};
    const float* xt = x + t * in;
    for (int64_t i = 0; i < in; ++i) {
      const float* w = tile + i * K;
      const float a = xt[i];
      for (int64_t c = 0; c < K; ++c) acc[c] += a * w[c];
    }
    for (int64_t c = 0; c < columns; ++c) {
      y[t * y_stride + c] = acc[c] + (bias != nullptr ? bias[c] : 0.0f);
    }
  }
}

}  // namespace citadel::runtime::detail
