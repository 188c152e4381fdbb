// Random DeepEncoder weights of any size (the released sizes by default), in
// memory, for benchmarks and tests that need the real shapes without a
// checkpoint file; and the CPU encoder built from such weights. Internal to
// plugins/deepseek-ocr/vision; used by bench/deepseek_ocr_vision.
#pragma once

#include "deep_encoder.h"
#include "encoder_weights.h"

#include "runtime/core/dtype.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace citadel::deepseek_ocr {

struct EncoderSizes {
  int64_t sam_width = 768, sam_depth = 12, sam_heads = 12, sam_window = 14, sam_pos_grid = 64;
  std::vector<int64_t> sam_global_blocks = {2, 5, 8, 11};
  int64_t neck_channels = 256, channels_2 = 512, channels_3 = 1024;
  int64_t clip_layers = 24, clip_heads = 16, clip_ffn = 4096, clip_pos_grid = 16;
  int64_t lm_hidden = 1280;
};

// Matrices in `matrix_dtype` (f32, f16 or bf16) with N(0, 1/in) entries, norms
// of weight 1 and bias 0, small random biases and tables.
EncoderWeights random_encoder_weights(const EncoderSizes& sizes, runtime::DType matrix_dtype, uint64_t seed);

// The CPU / CUDA DeepEncoder over weights already in memory (the CUDA one
// throws RuntimeError UNSUPPORTED in a build without CUDA).
std::unique_ptr<DeepEncoder> make_cpu_encoder(EncoderWeights weights, runtime::ThreadPool& pool);
std::unique_ptr<DeepEncoder> make_cuda_encoder(EncoderWeights weights);

}  // namespace citadel::deepseek_ocr
