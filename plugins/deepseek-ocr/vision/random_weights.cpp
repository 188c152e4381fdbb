// random_encoder_weights: every tensor the loader would read, filled from a
// seeded normal distribution, shaped as the released checkpoint.
#include "random_weights.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace citadel::deepseek_ocr {
namespace {

struct Filler {
  std::mt19937_64 rng;
  runtime::DType dtype;

  std::vector<float> values(int64_t n, float scale) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = dist(rng);
    return v;
  }
  runtime::Tensor matrix(runtime::Shape shape) {
    const int64_t fan_in = runtime::shape_numel(shape) / shape[0];
    const auto v = values(runtime::shape_numel(shape), 1.0f / std::sqrt(static_cast<float>(fan_in)));
    return runtime::Tensor::copy_of(runtime::DType::f32, std::move(shape), v.data()).converted(dtype);
  }
  LinearWeights linear(int64_t out, int64_t in) {
    return LinearWeights{matrix({out, in}), values(out, 0.02f), out, in};
  }
  NormWeights norm(int64_t dim, float eps) {
    return NormWeights{std::vector<float>(static_cast<size_t>(dim), 1.0f), std::vector<float>(static_cast<size_t>(dim), 0.0f),
                       eps};
  }
};

}  // namespace

EncoderWeights random_encoder_weights(const EncoderSizes& z, runtime::DType matrix_dtype, uint64_t seed) {
  Filler f{std::mt19937_64(seed), matrix_dtype};
  EncoderWeights w;
  SamWeights& s = w.sam;
  s.width = z.sam_width;
  s.heads = z.sam_heads;
  s.head_dim = z.sam_width / z.sam_heads;
  s.pos_grid = z.sam_pos_grid;
  s.patch_weight = f.matrix({s.width, 3, s.patch, s.patch});
  s.patch_bias = f.values(s.width, 0.02f);
  s.pos_embed = f.values(s.pos_grid * s.pos_grid * s.width, 0.02f);
  for (int64_t i = 0; i < z.sam_depth; ++i) {
    SamBlockWeights b;
    const bool global = std::find(z.sam_global_blocks.begin(), z.sam_global_blocks.end(), i) != z.sam_global_blocks.end();
    b.window = global ? 0 : z.sam_window;
    b.rel_len = global ? 2 * s.pos_grid - 1 : 2 * z.sam_window - 1;
    b.norm1 = f.norm(s.width, 1e-6f);
    b.norm2 = f.norm(s.width, 1e-6f);
    b.qkv = f.linear(3 * s.width, s.width);
    b.proj = f.linear(s.width, s.width);
    b.rel_pos_h = f.values(b.rel_len * s.head_dim, 0.02f);
    b.rel_pos_w = f.values(b.rel_len * s.head_dim, 0.02f);
    b.lin1 = f.linear(4 * s.width, s.width);
    b.lin2 = f.linear(s.width, 4 * s.width);
    s.blocks.push_back(std::move(b));
  }
  s.neck_channels = z.neck_channels;
  s.neck_conv1 = f.matrix({z.neck_channels, s.width, 1, 1});
  s.neck_norm1 = f.norm(z.neck_channels, 1e-6f);
  s.neck_conv2 = f.matrix({z.neck_channels, z.neck_channels, 3, 3});
  s.neck_norm2 = f.norm(z.neck_channels, 1e-6f);
  s.channels_2 = z.channels_2;
  s.channels_3 = z.channels_3;
  s.net_2 = f.matrix({z.channels_2, z.neck_channels, 3, 3});
  s.net_3 = f.matrix({z.channels_3, z.channels_2, 3, 3});

  ClipWeights& c = w.clip;
  c.hidden = z.channels_3;
  c.heads = z.clip_heads;
  c.pos_grid = z.clip_pos_grid;
  c.class_embedding = f.values(c.hidden, 0.02f);
  c.position_embedding = f.values((1 + c.pos_grid * c.pos_grid) * c.hidden, 0.02f);
  c.pre_layrnorm = f.norm(c.hidden, 1e-5f);
  for (int64_t i = 0; i < z.clip_layers; ++i) {
    ClipLayerWeights l;
    l.layer_norm1 = f.norm(c.hidden, 1e-5f);
    l.layer_norm2 = f.norm(c.hidden, 1e-5f);
    l.qkv = f.linear(3 * c.hidden, c.hidden);
    l.out = f.linear(c.hidden, c.hidden);
    l.fc1 = f.linear(z.clip_ffn, c.hidden);
    l.fc2 = f.linear(c.hidden, z.clip_ffn);
    c.layers.push_back(std::move(l));
  }
  w.lm_hidden = z.lm_hidden;
  w.projector = f.linear(z.lm_hidden, c.hidden + s.channels_3);
  w.image_newline = f.values(z.lm_hidden, 0.02f);
  w.view_separator = f.values(z.lm_hidden, 0.02f);
  return w;
}

}  // namespace citadel::deepseek_ocr
