// The DeepEncoder's weights as the CPU encoder uses them, loaded from a
// checkpoint with the released tensor names (model.sam_model.*,
// model.vision_model.*, model.projector.*, model.image_newline,
// model.view_seperator). Sizes come from the tensors' shapes (and CLIP's head
// count and the norms' eps from config.json when it states them); every
// tensor's shape and dtype is checked at load, errors name the tensor.
// Matrices stay views of the mmap'ed file (f32/f16/bf16); vectors and tables
// are widened to f32. Internal to plugins/deepseek-ocr/vision.
#pragma once

#include "runtime/core/tensor.h"
#include "runtime/core/thread_pool.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace citadel::deepseek_ocr {

// y[m, out] = x[m, in] · weightᵀ + bias.
struct LinearWeights {
  runtime::Tensor weight;  // [out, in]
  std::vector<float> bias; // [out] or empty
  int64_t out = 0, in = 0;
  void apply(runtime::ThreadPool& pool, const float* x, int64_t m, float* y) const;
};

struct NormWeights {
  std::vector<float> weight, bias;
  float eps = 1e-6f;
  void apply(const float* x, int64_t rows, float* y) const;  // LayerNorm over the last dim
};

struct SamBlockWeights {
  NormWeights norm1, norm2;
  LinearWeights qkv, proj, lin1, lin2;
  std::vector<float> rel_pos_h, rel_pos_w;  // [rel_len, head_dim]
  int64_t rel_len = 0;
  int64_t window = 0;                        // 0: global attention
};

struct SamWeights {
  int64_t width = 0, heads = 0, head_dim = 0, patch = 16, pos_grid = 0;
  runtime::Tensor patch_weight;              // [width, 3, patch, patch]
  std::vector<float> patch_bias;
  std::vector<float> pos_embed;              // [pos_grid, pos_grid, width]
  std::vector<SamBlockWeights> blocks;
  int64_t neck_channels = 0;
  runtime::Tensor neck_conv1, neck_conv2;    // [n, width, 1, 1], [n, n, 3, 3]
  NormWeights neck_norm1, neck_norm2;
  runtime::Tensor net_2, net_3;              // [c2, n, 3, 3], [c3, c2, 3, 3]
  int64_t channels_2 = 0, channels_3 = 0;
};

struct ClipLayerWeights {
  NormWeights layer_norm1, layer_norm2;
  LinearWeights qkv, out, fc1, fc2;
};

struct ClipWeights {
  int64_t hidden = 0, heads = 0, pos_grid = 0;
  std::vector<float> class_embedding;        // [hidden]
  std::vector<float> position_embedding;     // [1 + pos_grid², hidden]
  NormWeights pre_layrnorm;
  std::vector<ClipLayerWeights> layers;
};

struct EncoderWeights {
  SamWeights sam;
  ClipWeights clip;
  LinearWeights projector;                   // [lm_hidden, clip hidden + sam channels_3]
  std::vector<float> image_newline, view_separator;  // [lm_hidden]
  int64_t lm_hidden = 0;
};

// Throws RuntimeError naming the checkpoint and tensor on any missing tensor,
// bad shape or dtype.
EncoderWeights load_encoder_weights(const std::filesystem::path& checkpoint);

}  // namespace citadel::deepseek_ocr
