// Separable resampling: Pillow's coefficient computation (precompute_coeffs in
// libImaging/Resample.c: centre (x + 0.5) * scale, support 2 * max(scale, 1),
// weights normalised to sum 1) shared by the 8-bit and f32 paths.
#include "runtime/kernels/resample.h"

#include "runtime/core/error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace citadel::runtime {
namespace {

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output index: the first input index and the weights of the inputs it reads.
struct Coefficients {
  int taps = 0;                 // weights per output (the widest window)
  std::vector<int> first;       // [out]
  std::vector<int> count;       // [out]
  std::vector<double> weights;  // [out * taps]
};

Coefficients bicubic_coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.weights.assign(static_cast<size_t>(out_size) * static_cast<size_t>(c.taps), 0.0);
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    double* w = &c.weights[static_cast<size_t>(o) * static_cast<size_t>(c.taps)];
    double total = 0.0;
    for (int i = 0; i < hi - lo; ++i) {
      w[i] = bicubic_filter((i + lo - center + 0.5) / filter_scale);
      total += w[i];
    }
    if (total != 0.0) {
      for (int i = 0; i < hi - lo; ++i) w[i] /= total;
    }
    c.first[static_cast<size_t>(o)] = lo;
    c.count[static_cast<size_t>(o)] = hi - lo;
  }
  return c;
}

constexpr int kPrecisionBits = 32 - 8 - 2;

std::vector<int32_t> fixed_point(const Coefficients& c) {
  std::vector<int32_t> out(c.weights.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double w = c.weights[i] * (1 << kPrecisionBits);
    out[i] = static_cast<int32_t>(w < 0 ? w - 0.5 : w + 0.5);
  }
  return out;
}

uint8_t clip8(int32_t sum) {
  const int32_t v = sum >> kPrecisionBits;  // arithmetic shift, as Pillow's lookup index
  return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

void check_sizes(const char* what, int64_t a, int64_t b, int64_t c, int64_t d) {
  if (a <= 0 || b <= 0 || c <= 0 || d <= 0) {
    throw_invalid(std::string(what) + ": sizes must be positive (" + std::to_string(a) + "x" +
                  std::to_string(b) + " -> " + std::to_string(c) + "x" + std::to_string(d) + ")");
  }
}

}  // namespace

namespace {

// One 8-bit pass along rows (horizontal) or columns (vertical) of an
// interleaved image [h, w, channels].
std::vector<uint8_t> resample_pass_u8(const uint8_t* src, int64_t w, int64_t h, int64_t ch, bool horizontal,
                                      int64_t out_size) {
  const Coefficients c = bicubic_coefficients(static_cast<int>(horizontal ? w : h), static_cast<int>(out_size));
  const std::vector<int32_t> k = fixed_point(c);
  const int64_t out_w = horizontal ? out_size : w, out_h = horizontal ? h : out_size;
  std::vector<uint8_t> out(static_cast<size_t>(out_w * out_h * ch));
  // Element (y, x, b) of the source at src[(y * w + x) * ch + b]; the pass
  // runs along x (horizontal) or y (vertical).
  const int64_t along_stride = horizontal ? ch : w * ch;
  for (int64_t y = 0; y < out_h; ++y) {
    for (int64_t x = 0; x < out_w; ++x) {
      const int64_t o = horizontal ? x : y;
      const int32_t* wt = &k[static_cast<size_t>(o * c.taps)];
      const int64_t lo = c.first[static_cast<size_t>(o)], n = c.count[static_cast<size_t>(o)];
      const uint8_t* base = horizontal ? src + (y * w + lo) * ch : src + (lo * w + x) * ch;
      for (int64_t b = 0; b < ch; ++b) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        for (int64_t i = 0; i < n; ++i) sum += base[i * along_stride + b] * wt[i];
        out[static_cast<size_t>((y * out_w + x) * ch + b)] = clip8(sum);
      }
    }
  }
  return out;
}

}  // namespace

void resize_bicubic_u8(const uint8_t* src, int src_w, int src_h, int channels, uint8_t* dst, int dst_w,
                       int dst_h) {
  check_sizes("resize_bicubic_u8", src_w, src_h, dst_w, dst_h);
  if (channels < 1 || channels > 4) throw_invalid("resize_bicubic_u8: channels must be 1..4");
  const int64_t ch = channels;
  const bool need_horizontal = dst_w != src_w, need_vertical = dst_h != src_h;
  // Recent Pillow (13.0, the reference venv's) runs the vertical pass first
  // when the height shrinks by more than twice what the width shrinks by.
  const bool horizontal_first = !(src_h - dst_h > 0 && src_h - dst_h > (src_w - dst_w) * 2);
  std::vector<uint8_t> image(src, src + static_cast<int64_t>(src_w) * src_h * ch);
  int64_t w = src_w, h = src_h;
  for (int pass = 0; pass < 2; ++pass) {
    const bool horizontal = (pass == 0) == horizontal_first;
    if (horizontal && need_horizontal) {
      image = resample_pass_u8(image.data(), w, h, ch, true, dst_w);
      w = dst_w;
    } else if (!horizontal && need_vertical) {
      image = resample_pass_u8(image.data(), w, h, ch, false, dst_h);
      h = dst_h;
    }
  }
  std::copy(image.begin(), image.end(), dst);
}

void resize_bicubic_antialias_f32(const float* src, int src_h, int src_w, int64_t channels, float* dst,
                                  int dst_h, int dst_w) {
  check_sizes("resize_bicubic_antialias_f32", src_w, src_h, dst_w, dst_h);
  const Coefficients cw = bicubic_coefficients(src_w, dst_w);
  const Coefficients ch = bicubic_coefficients(src_h, dst_h);
  std::vector<float> wide(static_cast<size_t>(src_h) * dst_w * channels);
  std::vector<double> acc(static_cast<size_t>(channels));
  for (int64_t y = 0; y < src_h; ++y) {
    for (int64_t x = 0; x < dst_w; ++x) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const double* w = &cw.weights[static_cast<size_t>(x * cw.taps)];
      const int64_t lo = cw.first[static_cast<size_t>(x)];
      for (int64_t i = 0; i < cw.count[static_cast<size_t>(x)]; ++i) {
        const float* in = src + (y * src_w + lo + i) * channels;
        for (int64_t b = 0; b < channels; ++b) acc[static_cast<size_t>(b)] += in[b] * w[i];
      }
      float* out = wide.data() + (y * dst_w + x) * channels;
      for (int64_t b = 0; b < channels; ++b) out[b] = static_cast<float>(acc[static_cast<size_t>(b)]);
    }
  }
  const int64_t row_len = static_cast<int64_t>(dst_w) * channels;
  std::vector<double> row(static_cast<size_t>(row_len));
  for (int64_t y = 0; y < dst_h; ++y) {
    std::fill(row.begin(), row.end(), 0.0);
    const double* w = &ch.weights[static_cast<size_t>(y * ch.taps)];
    const int64_t lo = ch.first[static_cast<size_t>(y)];
    for (int64_t i = 0; i < ch.count[static_cast<size_t>(y)]; ++i) {
      const float* in = wide.data() + (lo + i) * row_len;
      for (int64_t x = 0; x < row_len; ++x) row[static_cast<size_t>(x)] += in[x] * w[i];
    }
    for (int64_t x = 0; x < row_len; ++x) dst[y * row_len + x] = static_cast<float>(row[static_cast<size_t>(x)]);
  }
}

void resize_linear_f32(const float* src, int64_t src_len, int64_t channels, float* dst, int64_t dst_len) {
  check_sizes("resize_linear_f32", src_len, channels, dst_len, 1);
  const double scale = static_cast<double>(src_len) / static_cast<double>(dst_len);
  for (int64_t i = 0; i < dst_len; ++i) {
    const double pos = std::max((i + 0.5) * scale - 0.5, 0.0);
    const int64_t i0 = std::min(static_cast<int64_t>(pos), src_len - 1);
    const int64_t i1 = std::min(i0 + 1, src_len - 1);
    const float t = static_cast<float>(pos - static_cast<double>(i0));
    const float* a = src + i0 * channels;
    const float* b = src + i1 * channels;
    for (int64_t c = 0; c < channels; ++c) dst[i * channels + c] = (1.0f - t) * a[c] + t * b[c];
  }
}

}  // namespace citadel::runtime
