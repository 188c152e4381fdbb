// Image and grid resampling on the CPU, matching Pillow's Image.resize with
// BICUBIC (13.0: a = -0.5, filter support widened by the downscale factor: the
// "antialias" form) bit for bit on 8-bit images, and torch's
// F.interpolate(mode="bicubic", antialias=True, align_corners=False) (the same
// filter) on f32 grids; plus the 1-D linear resize of
// F.interpolate(mode="linear", align_corners=False). Used by vision plugins
// (deepseek-ocr preprocessing, position-embedding and relative-position
// interpolation). Thread-safe; single-threaded.
#pragma once

#include <cstdint>

namespace citadel::runtime {

// Interleaved 8-bit image [src_h, src_w, channels] -> [dst_h, dst_w, channels]
// (channels 1..4). Two passes in Pillow's order (vertical first when the
// height shrinks by more than twice the width), each with 22-bit
// fixed-point coefficients and rounding/clamping to uint8, as Pillow does.
// Sizes must be positive; dst must not alias src.
void resize_bicubic_u8(const uint8_t* src, int src_w, int src_h, int channels, uint8_t* dst, int dst_w,
                       int dst_h);

// Channels-last f32 grid [src_h, src_w, channels] -> [dst_h, dst_w, channels],
// separable antialiased bicubic (double accumulation, f32 between passes).
void resize_bicubic_antialias_f32(const float* src, int src_h, int src_w, int64_t channels, float* dst,
                                  int dst_h, int dst_w);

// Rows [src_len, channels] -> [dst_len, channels], linear with
// align_corners=False (source index (i + 0.5) * src/dst - 0.5, clamped at 0).
void resize_linear_f32(const float* src, int64_t src_len, int64_t channels, float* dst, int64_t dst_len);

}  // namespace citadel::runtime
