// The order of an image's placeholder embeddings (deepseek_ocr.py
// _pixel_values_to_embedding): for Gundam the tiles' projected maps re-tiled
// into one (q*rows) x (q*columns) map, each row followed by image_newline;
// then the global q x q map, each row + image_newline; then view_seperator.
// Shared by the CPU and CUDA DeepEncoders. Internal to plugins/deepseek-ocr/vision.
#pragma once

#include "deep_encoder.h"

#include <vector>

namespace citadel::deepseek_ocr {

// Encodes the image's views with `encoder.encode_views` and lays them out;
// throws RuntimeError (INTERNAL) when the count differs from
// image.num_image_tokens.
std::vector<float> encode_and_lay_out(DeepEncoder& encoder, const PreparedImage& image,
                                      const std::vector<float>& image_newline, const std::vector<float>& view_separator);

}  // namespace citadel::deepseek_ocr
