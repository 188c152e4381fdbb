// encode_and_lay_out: tiles first (row-major tiles, row-major tokens inside),
// newline per map row, then the global view and the separator.
#include "embedding_layout.h"

#include <string>

namespace citadel::deepseek_ocr {
namespace {

int64_t side_of(int64_t tokens) {
  int64_t q = 0;
  while ((q + 1) * (q + 1) <= tokens) ++q;
  return q;
}

}  // namespace

std::vector<float> encode_and_lay_out(DeepEncoder& encoder, const PreparedImage& image,
                                      const std::vector<float>& image_newline, const std::vector<float>& view_separator) {
  const size_t global_floats = size_t{3} * static_cast<size_t>(image.global_side) * static_cast<size_t>(image.global_side);
  const size_t tile_floats = size_t{3} * static_cast<size_t>(image.tile_side) * static_cast<size_t>(image.tile_side);
  if (image.global_side <= 0 || image.global_pixels.size() != global_floats ||
      (image.grid.tiled() && image.tile_pixels.size() != tile_floats * static_cast<size_t>(image.grid.count()))) {
    runtime::throw_invalid("deepseek-ocr: the prepared image's pixel buffers do not match its sides and tile grid");
  }
  const int64_t h = encoder.lm_hidden();
  std::vector<float> out;
  out.reserve(static_cast<size_t>(image.num_image_tokens * h));
  auto append = [&](const float* row) { out.insert(out.end(), row, row + h); };
  if (image.grid.tiled()) {
    const auto tiles = encoder.encode_views(image.tile_pixels.data(), image.grid.count(), image.tile_side);
    const int64_t q = side_of(tiles.tokens_per_view);
    for (int64_t ty = 0; ty < image.grid.rows; ++ty) {
      for (int64_t iy = 0; iy < q; ++iy) {
        for (int64_t tx = 0; tx < image.grid.columns; ++tx) {
          const int64_t tile = ty * image.grid.columns + tx;
          for (int64_t ix = 0; ix < q; ++ix) append(tiles.projected.data() + ((tile * q + iy) * q + ix) * h);
        }
        append(image_newline.data());
      }
    }
  }
  const auto global = encoder.encode_views(image.global_pixels.data(), 1, image.global_side);
  const int64_t q = side_of(global.tokens_per_view);
  for (int64_t iy = 0; iy < q; ++iy) {
    for (int64_t ix = 0; ix < q; ++ix) append(global.projected.data() + (iy * q + ix) * h);
    append(image_newline.data());
  }
  append(view_separator.data());
  if (static_cast<int64_t>(out.size()) != image.num_image_tokens * h) {
    throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: encoder produced " +
                                                          std::to_string(out.size() / static_cast<size_t>(h)) +
                                                          " image embeddings for " +
                                                          std::to_string(image.num_image_tokens) + " placeholders");
  }
  return out;
}

}  // namespace citadel::deepseek_ocr
