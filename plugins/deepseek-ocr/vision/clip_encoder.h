// CLIP-L of DeepSeek-OCR's DeepEncoder (deepencoder/clip_sdpa.py) on the CPU:
// takes the compressed SAM map as its patch embeddings (no patch
// convolution), prepends the class token, adds the position table resized
// (bicubic antialias) to the map's grid, pre_layrnorm, pre-LN layers with
// quick_gelu, no post-norm. Internal to plugins/deepseek-ocr/vision (called by
// the CPU DeepEncoder); one thread at a time.
#pragma once

#include "encoder_weights.h"

#include <map>
#include <vector>

namespace citadel::deepseek_ocr {

class ClipEncoderCpu {
 public:
  ClipEncoderCpu(const ClipWeights& weights, runtime::ThreadPool& pool) : w_(weights), pool_(pool) {}

  // sam_map: [grid * grid, hidden] row-major -> [grid * grid, hidden], the
  // class token's output dropped.
  std::vector<float> forward(const float* sam_map, int64_t grid);

 private:
  const std::vector<float>& positions(int64_t grid);  // [1 + grid², hidden]

  const ClipWeights& w_;
  runtime::ThreadPool& pool_;
  std::map<int64_t, std::vector<float>> positions_;
};

}  // namespace citadel::deepseek_ocr
