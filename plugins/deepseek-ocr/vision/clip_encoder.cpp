// ClipEncoderCpu: embeddings (class token + SAM map + resized positions),
// pre_layrnorm, then per layer x += out_proj(attn(ln1 x)), x += fc2(quick_gelu(fc1(ln2 x))).
#include "clip_encoder.h"

#include "position_tables.h"

#include "runtime/kernels/dense_attention.h"
#include "runtime/kernels/elementwise.h"

#include <algorithm>
#include <cmath>

namespace citadel::deepseek_ocr {
namespace {

// quick_gelu(x) = x * sigmoid(1.702 x), as CLIP's activation.
void quick_gelu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}

}  // namespace

const std::vector<float>& ClipEncoderCpu::positions(int64_t grid) {
  auto it = positions_.find(grid);
  if (it == positions_.end()) it = positions_.emplace(grid, clip_positions(w_, grid)).first;
  return it->second;
}

std::vector<float> ClipEncoderCpu::forward(const float* sam_map, int64_t grid) {
  const int64_t c = w_.hidden, tokens = 1 + grid * grid;
  std::vector<float> x(static_cast<size_t>(tokens * c));
  std::copy(w_.class_embedding.begin(), w_.class_embedding.end(), x.begin());
  std::copy(sam_map, sam_map + (tokens - 1) * c, x.begin() + c);
  runtime::add_in_place(x.data(), positions(grid).data(), static_cast<int64_t>(x.size()));
  w_.pre_layrnorm.apply(x.data(), tokens, x.data());

  const int64_t head_dim = c / w_.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> normed(x.size()), attended(x.size()), out(x.size());
  std::vector<float> qkv(static_cast<size_t>(tokens * 3 * c));
  for (const ClipLayerWeights& layer : w_.layers) {
    layer.layer_norm1.apply(x.data(), tokens, normed.data());
    layer.qkv.apply(pool_, normed.data(), tokens, qkv.data());
    runtime::dense_attention(pool_, qkv.data(), qkv.data() + c, qkv.data() + 2 * c, 3 * c, 1, tokens, w_.heads,
                             head_dim, scale, attended.data());
    layer.out.apply(pool_, attended.data(), tokens, out.data());
    runtime::add_in_place(x.data(), out.data(), static_cast<int64_t>(x.size()));
    layer.layer_norm2.apply(x.data(), tokens, normed.data());
    std::vector<float> hidden(static_cast<size_t>(tokens * layer.fc1.out));
    layer.fc1.apply(pool_, normed.data(), tokens, hidden.data());
    quick_gelu(hidden.data(), static_cast<int64_t>(hidden.size()));
    layer.fc2.apply(pool_, hidden.data(), tokens, out.data());
    runtime::add_in_place(x.data(), out.data(), static_cast<int64_t>(x.size()));
  }
  x.erase(x.begin(), x.begin() + c);
  return x;
}

}  // namespace citadel::deepseek_ocr
