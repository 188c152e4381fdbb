// Position-table resizes (runtime/kernels/resample.h).
#include "position_tables.h"

#include "runtime/kernels/resample.h"

#include <algorithm>

namespace citadel::deepseek_ocr {

std::vector<float> sam_positions(const SamWeights& sam, int64_t grid) {
  if (grid == sam.pos_grid) return sam.pos_embed;
  std::vector<float> out(static_cast<size_t>(grid * grid * sam.width));
  runtime::resize_bicubic_antialias_f32(sam.pos_embed.data(), static_cast<int>(sam.pos_grid),
                                        static_cast<int>(sam.pos_grid), sam.width, out.data(), static_cast<int>(grid),
                                        static_cast<int>(grid));
  return out;
}

std::vector<float> sam_global_rel_table(const SamWeights& sam, const SamBlockWeights& block, bool height,
                                        int64_t grid) {
  const std::vector<float>& table = height ? block.rel_pos_h : block.rel_pos_w;
  const int64_t length = 2 * grid - 1;
  if (length == block.rel_len) return table;
  std::vector<float> out(static_cast<size_t>(length * sam.head_dim));
  runtime::resize_linear_f32(table.data(), block.rel_len, sam.head_dim, out.data(), length);
  return out;
}

std::vector<float> clip_positions(const ClipWeights& clip, int64_t grid) {
  const int64_t c = clip.hidden;
  if (grid == clip.pos_grid) return clip.position_embedding;
  std::vector<float> out(static_cast<size_t>((1 + grid * grid) * c));
  std::copy(clip.position_embedding.begin(), clip.position_embedding.begin() + c, out.begin());  // class row kept
  runtime::resize_bicubic_antialias_f32(clip.position_embedding.data() + c, static_cast<int>(clip.pos_grid),
                                        static_cast<int>(clip.pos_grid), c, out.data() + c, static_cast<int>(grid),
                                        static_cast<int>(grid));
  return out;
}

}  // namespace citadel::deepseek_ocr
