// The CPU DeepEncoder: SAM -> CLIP -> concat(clip, sam) -> projector per
// view, then the reference's placeholder layout (embedding_layout.h).
#include "deep_encoder.h"

#include "clip_encoder.h"
#include "embedding_layout.h"
#include "encoder_weights.h"
#include "random_weights.h"
#include "sam_encoder.h"

#include <algorithm>

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
    return encode_and_lay_out(*this, image, w_.image_newline, w_.view_separator);
  }

 private:
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
