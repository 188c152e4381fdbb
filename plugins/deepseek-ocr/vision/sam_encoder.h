// SAM-base ViTDet + neck + the two stride-2 convolutions of DeepSeek-OCR's
// DeepEncoder (deepencoder/sam_vary_sdpa.py), on the CPU: one view's pixels
// to the compressed channels-last map. Interpolated absolute positions and
// global relative-position tables are cached per grid size. Internal to
// plugins/deepseek-ocr/vision (called by the CPU DeepEncoder); one thread at a time.
#pragma once

#include "encoder_weights.h"

#include <map>
#include <tuple>
#include <vector>

namespace citadel::deepseek_ocr {

class SamEncoderCpu {
 public:
  SamEncoderCpu(const SamWeights& weights, runtime::ThreadPool& pool) : w_(weights), pool_(pool) {}

  // pixels: CHW [3, side, side] (side a multiple of the patch size) ->
  // [q, q, channels_3] row-major, q = ceil(ceil(side/16 / 2) / 2); *grid = q.
  std::vector<float> forward(const float* pixels, int side, int64_t* grid);

 private:
  const std::vector<float>& positions(int64_t grid);
  const std::vector<float>& global_table(size_t block, bool height, int64_t grid);
  void attention_block(const SamBlockWeights& blk, size_t index, std::vector<float>& x, int64_t grid);

  const SamWeights& w_;
  runtime::ThreadPool& pool_;
  std::map<int64_t, std::vector<float>> positions_;        // grid -> [grid, grid, width]
  std::map<std::tuple<size_t, bool, int64_t>, std::vector<float>> tables_;  // (block, h/w, grid) -> [2g-1, hd]
};

}  // namespace citadel::deepseek_ocr
