// SamEncoderCpu: patch convolution, absolute positions (bicubic antialias
// resize), blocks with windowed (zero-padded bottom/right, padded tokens are
// keys) or global attention and decomposed relative positions (linear resize
// of global tables), MLP with exact GELU; neck (1x1 conv, LayerNorm2d, 3x3
// conv, LayerNorm2d) and net_2 / net_3.
#include "sam_encoder.h"

#include "position_tables.h"

#include "runtime/core/error.h"
#include "runtime/kernels/conv2d.h"
#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/elementwise.h"

#include <cmath>
#include <tuple>

namespace citadel::deepseek_ocr {

using runtime::Conv2dShape;

const std::vector<float>& SamEncoderCpu::positions(int64_t grid) {
  auto it = positions_.find(grid);
  if (it == positions_.end()) it = positions_.emplace(grid, sam_positions(w_, grid)).first;
  return it->second;
}

const std::vector<float>& SamEncoderCpu::global_table(size_t block, bool height, int64_t grid) {
  const auto key = std::make_tuple(block, height, grid);
  auto it = tables_.find(key);
  if (it == tables_.end()) it = tables_.emplace(key, sam_global_rel_table(w_, w_.blocks[block], height, grid)).first;
  return it->second;
}

// x += proj(attention(norm1(x))) over windows or the whole grid.
void SamEncoderCpu::attention_block(const SamBlockWeights& blk, size_t index, std::vector<float>& x, int64_t grid) {
  const int64_t width = w_.width, tokens = grid * grid;
  const float scale = 1.0f / std::sqrt(static_cast<float>(w_.head_dim));
  std::vector<float> normed(x.size());
  blk.norm1.apply(x.data(), tokens, normed.data());
  if (blk.window == 0) {
    std::vector<float> qkv(static_cast<size_t>(tokens * 3 * width));
    blk.qkv.apply(pool_, normed.data(), tokens, qkv.data());
    const runtime::RelativePosition2d rel{global_table(index, true, grid).data(), global_table(index, false, grid).data(),
                                          grid, grid};
    std::vector<float> attended(static_cast<size_t>(tokens * width));
    runtime::dense_attention(pool_, qkv.data(), qkv.data() + width, qkv.data() + 2 * width, 3 * width, 1, tokens,
                             w_.heads, w_.head_dim, scale, attended.data(), &rel);
    std::vector<float> projected(attended.size());
    blk.proj.apply(pool_, attended.data(), tokens, projected.data());
    runtime::add_in_place(x.data(), projected.data(), static_cast<int64_t>(x.size()));
    return;
  }
  // Windows of s x s over the grid zero-padded to a multiple of s, row-major.
  const int64_t s = blk.window, per_side = (grid + s - 1) / s, windows = per_side * per_side, wt = s * s;
  std::vector<float> packed(static_cast<size_t>(windows * wt * width), 0.0f);
  auto for_each_inside = [&](auto&& fn) {
    for (int64_t wy = 0; wy < per_side; ++wy) {
      for (int64_t wx = 0; wx < per_side; ++wx) {
        for (int64_t iy = 0; iy < s; ++iy) {
          const int64_t y = wy * s + iy;
          if (y >= grid) break;
          for (int64_t ix = 0; ix < s; ++ix) {
            const int64_t xx = wx * s + ix;
            if (xx >= grid) break;
            fn(((wy * per_side + wx) * wt + iy * s + ix) * width, (y * grid + xx) * width);
          }
        }
      }
    }
  };
  for_each_inside([&](int64_t packed_at, int64_t grid_at) {
    std::copy(normed.begin() + grid_at, normed.begin() + grid_at + width, packed.begin() + packed_at);
  });
  std::vector<float> qkv(static_cast<size_t>(windows * wt * 3 * width));
  blk.qkv.apply(pool_, packed.data(), windows * wt, qkv.data());
  const runtime::RelativePosition2d rel{blk.rel_pos_h.data(), blk.rel_pos_w.data(), s, s};
  std::vector<float> attended(packed.size());
  runtime::dense_attention(pool_, qkv.data(), qkv.data() + width, qkv.data() + 2 * width, 3 * width, windows, wt,
                           w_.heads, w_.head_dim, scale, attended.data(), &rel);
  blk.proj.apply(pool_, attended.data(), windows * wt, packed.data());
  for_each_inside([&](int64_t packed_at, int64_t grid_at) {
    for (int64_t c = 0; c < width; ++c) x[static_cast<size_t>(grid_at + c)] += packed[static_cast<size_t>(packed_at + c)];
  });
}

std::vector<float> SamEncoderCpu::forward(const float* pixels, int side, int64_t* grid_out) {
  if (side <= 0 || side % w_.patch != 0) {
    runtime::throw_invalid("deepseek-ocr: SAM view side " + std::to_string(side) + " is not a multiple of " +
                           std::to_string(w_.patch));
  }
  const int64_t plane = static_cast<int64_t>(side) * side, grid = side / w_.patch, tokens = grid * grid;
  const int64_t width = w_.width;
  std::vector<float> hwc(static_cast<size_t>(plane * 3));
  for (int64_t i = 0; i < plane; ++i) {
    for (int64_t c = 0; c < 3; ++c) hwc[static_cast<size_t>(i * 3 + c)] = pixels[c * plane + i];
  }
  std::vector<float> x(static_cast<size_t>(tokens * width));
  runtime::conv2d_nhwc(pool_, hwc.data(), Conv2dShape{side, side, 3, width, w_.patch, w_.patch, 0},
                       w_.patch_weight.data(), w_.patch_weight.dtype(), w_.patch_bias.data(), x.data());
  runtime::add_in_place(x.data(), positions(grid).data(), static_cast<int64_t>(x.size()));

  std::vector<float> normed(x.size());
  for (size_t b = 0; b < w_.blocks.size(); ++b) {
    const SamBlockWeights& blk = w_.blocks[b];
    attention_block(blk, b, x, grid);
    blk.norm2.apply(x.data(), tokens, normed.data());
    std::vector<float> hidden(static_cast<size_t>(tokens * blk.lin1.out));
    blk.lin1.apply(pool_, normed.data(), tokens, hidden.data());
    runtime::gelu(hidden.data(), static_cast<int64_t>(hidden.size()), hidden.data());
    std::vector<float> out(x.size());
    blk.lin2.apply(pool_, hidden.data(), tokens, out.data());
    runtime::add_in_place(x.data(), out.data(), static_cast<int64_t>(x.size()));
  }

  const int64_t n = w_.neck_channels;
  std::vector<float> neck1(static_cast<size_t>(tokens * n)), neck2(neck1.size());
  runtime::conv2d_nhwc(pool_, x.data(), Conv2dShape{grid, grid, width, n, 1, 1, 0}, w_.neck_conv1.data(),
                       w_.neck_conv1.dtype(), nullptr, neck1.data());
  w_.neck_norm1.apply(neck1.data(), tokens, neck1.data());
  runtime::conv2d_nhwc(pool_, neck1.data(), Conv2dShape{grid, grid, n, n, 3, 1, 1}, w_.neck_conv2.data(),
                       w_.neck_conv2.dtype(), nullptr, neck2.data());
  w_.neck_norm2.apply(neck2.data(), tokens, neck2.data());

  const Conv2dShape s2{grid, grid, n, w_.channels_2, 3, 2, 1};
  std::vector<float> half(static_cast<size_t>(s2.out_h() * s2.out_w() * w_.channels_2));
  runtime::conv2d_nhwc(pool_, neck2.data(), s2, w_.net_2.data(), w_.net_2.dtype(), nullptr, half.data());
  const Conv2dShape s3{s2.out_h(), s2.out_w(), w_.channels_2, w_.channels_3, 3, 2, 1};
  std::vector<float> quarter(static_cast<size_t>(s3.out_h() * s3.out_w() * w_.channels_3));
  runtime::conv2d_nhwc(pool_, half.data(), s3, w_.net_3.data(), w_.net_3.dtype(), nullptr, quarter.data());
  *grid_out = s3.out_h();
  return quarter;
}

}  // namespace citadel::deepseek_ocr
