// The CPU DeepEncoder: SAM -> CLIP -> concat(clip, sam) -> projector per
// view, then the reference's placeholder layout (deepseek_ocr.py
// _pixel_values_to_embedding): tiles' map with newlines, the global map with
// newlines, view_seperator.
#include "deep_encoder.h"

#include "clip_encoder.h"
#include "encoder_weights.h"
#include "random_weights.h"
#include "sam_encoder.h"

#include <algorithm>
#include <string>

namespace citadel::deepseek_ocr {
namespace {

class DeepEncoderCpu final : public DeepEncoder {
 public:
  DeepEncoderCpu(EncoderWeights weights, runtime::ThreadPool& pool)
      : w_(std::move(weights)), pool_(pool), sam_(w_.sam, pool), clip_(w_.clip, pool) {}

  int64_t lm_hidden() const override { return w_.lm_hidden; }

  ViewFeatures encode_views(const float* pixels, int64_t views, int side) override {
    ViewFeatures f;
    f.views = views;
    const int64_t plane = int64_t{3} * side * side;
    const int64_t cs = w_.sam.channels_3, cc = w_.clip.hidden, h = w_.lm_hidden;
    for (int64_t v = 0; v < views; ++v) {
      int64_t grid = 0;
      const std::vector<float> sam = sam_.forward(pixels + v * plane, side, &grid);
      const std::vector<float> clip = clip_.forward(sam.data(), grid);
      const int64_t tokens = grid * grid;
      f.tokens_per_view = tokens;
      std::vector<float> joined(static_cast<size_t>(tokens * (cc + cs)));
      for (int64_t t = 0; t < tokens; ++t) {
        std::copy_n(clip.begin() + t * cc, cc, joined.begin() + t * (cc + cs));
        std::copy_n(sam.begin() + t * cs, cs, joined.begin() + t * (cc + cs) + cc);
      }
      const size_t at = f.projected.size();
      f.projected.resize(at + static_cast<size_t>(tokens * h));
      w_.projector.apply(pool_, joined.data(), tokens, f.projected.data() + at);
      f.sam.insert(f.sam.end(), sam.begin(), sam.end());
      f.clip.insert(f.clip.end(), clip.begin(), clip.end());
    }
    return f;
  }

  std::vector<float> encode(const PreparedImage& image) override {
    const int64_t h = w_.lm_hidden;
    std::vector<float> out;
    out.reserve(static_cast<size_t>(image.num_image_tokens * h));
    auto append = [&](const float* row) { out.insert(out.end(), row, row + h); };
    if (image.grid.tiled()) {
      const ViewFeatures tiles = encode_views(image.tile_pixels.data(), image.grid.count(), image.tile_side);
      const int64_t q = side_of(tiles.tokens_per_view);
      for (int64_t ty = 0; ty < image.grid.rows; ++ty) {
        for (int64_t iy = 0; iy < q; ++iy) {
          for (int64_t tx = 0; tx < image.grid.columns; ++tx) {
            const int64_t tile = ty * image.grid.columns + tx;
            for (int64_t ix = 0; ix < q; ++ix) {
              append(tiles.projected.data() + ((tile * q + iy) * q + ix) * h);
            }
          }
          append(w_.image_newline.data());
        }
      }
    }
    const ViewFeatures global = encode_views(image.global_pixels.data(), 1, image.global_side);
    const int64_t q = side_of(global.tokens_per_view);
    for (int64_t iy = 0; iy < q; ++iy) {
      for (int64_t ix = 0; ix < q; ++ix) append(global.projected.data() + (iy * q + ix) * h);
      append(w_.image_newline.data());
    }
    append(w_.view_separator.data());
    if (static_cast<int64_t>(out.size()) != image.num_image_tokens * h) {
      throw runtime::RuntimeError(CITADEL_ERR_INTERNAL,
                                  "deepseek-ocr: encoder produced " + std::to_string(out.size() / h) +
                                      " image embeddings for " + std::to_string(image.num_image_tokens) +
                                      " placeholders");
    }
    return out;
  }

 private:
  static int64_t side_of(int64_t tokens) {
    int64_t q = 0;
    while ((q + 1) * (q + 1) <= tokens) ++q;
    return q;
  }

  EncoderWeights w_;
  runtime::ThreadPool& pool_;
  SamEncoderCpu sam_;
  ClipEncoderCpu clip_;
};

}  // namespace

std::unique_ptr<DeepEncoder> make_cpu_encoder(EncoderWeights weights, runtime::ThreadPool& pool) {
  return std::make_unique<DeepEncoderCpu>(std::move(weights), pool);
}

std::unique_ptr<DeepEncoder> DeepEncoder::load_cpu(const std::filesystem::path& checkpoint,
                                                   runtime::ThreadPool& pool) {
  return make_cpu_encoder(load_encoder_weights(checkpoint), pool);
}

}  // namespace citadel::deepseek_ocr
