// The position tables a view of a given grid size needs, resized from the
// checkpoint's native ones as the reference does: SAM's absolute positions
// and CLIP's (class row kept) by bicubic antialias resize, SAM's global
// relative-position tables by linear resize to 2 * grid - 1 rows. Computed on
// the host; the CPU and CUDA encoders cache them per grid. Internal to
// plugins/deepseek-ocr/vision.
#pragma once

#include "encoder_weights.h"

#include <cstdint>
#include <vector>

namespace citadel::deepseek_ocr {

// [grid, grid, sam width]
std::vector<float> sam_positions(const SamWeights& sam, int64_t grid);
// [2 grid - 1, head_dim] of a global block's rel_pos_h (height) or rel_pos_w.
std::vector<float> sam_global_rel_table(const SamWeights& sam, const SamBlockWeights& block, bool height, int64_t grid);
// [1 + grid², clip hidden]
std::vector<float> clip_positions(const ClipWeights& clip, int64_t grid);

}  // namespace citadel::deepseek_ocr
