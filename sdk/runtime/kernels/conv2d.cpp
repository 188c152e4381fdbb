// conv2d_nhwc: bands of output rows are unfolded (im2col, column order
// in_c, ky, kx as the torch weight) and multiplied by the weight with matmul.
#include "runtime/kernels/conv2d.h"

#include "runtime/core/error.h"
#include "runtime/kernels/matmul.h"

#include <algorithm>
#include <string>
#include <vector>

namespace citadel::runtime {

void conv2d_nhwc(ThreadPool& pool, const float* x, const Conv2dShape& s, const void* weight, DType weight_dtype,
                 const float* bias, float* y) {
  if (s.in_h <= 0 || s.in_w <= 0 || s.in_c <= 0 || s.out_c <= 0 || s.kernel <= 0 || s.stride <= 0 ||
      s.padding < 0 || s.out_h() <= 0 || s.out_w() <= 0) {
    throw_invalid("conv2d: invalid shape (input " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "x" +
                  std::to_string(s.in_c) + ", kernel " + std::to_string(s.kernel) + ", stride " +
                  std::to_string(s.stride) + ", padding " + std::to_string(s.padding) + ")");
  }
  const int64_t out_h = s.out_h(), out_w = s.out_w(), k = s.kernel;
  const int64_t depth = s.in_c * k * k;
  // A 1x1 convolution with stride 1 is a matmul over the pixels.
  if (k == 1 && s.stride == 1 && s.padding == 0) {
    matmul(pool, x, s.in_h * s.in_w, s.in_c, weight, weight_dtype, s.out_c, y, bias);
    return;
  }
  // Bands of about 2 MiB of unfolded input.
  const int64_t band_rows = std::max<int64_t>(1, (int64_t{1} << 19) / std::max<int64_t>(1, out_w * depth));
  std::vector<float> columns(static_cast<size_t>(std::min(band_rows, out_h) * out_w * depth));
  for (int64_t row0 = 0; row0 < out_h; row0 += band_rows) {
    const int64_t rows = std::min(band_rows, out_h - row0);
    pool.parallel_for(0, rows * out_w, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t oy = row0 + p / out_w, ox = p % out_w;
        float* col = columns.data() + p * depth;
        for (int64_t ky = 0; ky < k; ++ky) {
          const int64_t iy = oy * s.stride - s.padding + ky;
          for (int64_t kx = 0; kx < k; ++kx) {
            const int64_t ix = ox * s.stride - s.padding + kx;
            const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
            const float* src = inside ? x + (iy * s.in_w + ix) * s.in_c : nullptr;
            for (int64_t c = 0; c < s.in_c; ++c) col[(c * k + ky) * k + kx] = inside ? src[c] : 0.0f;
          }
        }
      }
    }, 16);
    matmul(pool, columns.data(), rows * out_w, depth, weight, weight_dtype, s.out_c, y + row0 * out_w * s.out_c,
           bias);
  }
}

}  // namespace citadel::runtime
