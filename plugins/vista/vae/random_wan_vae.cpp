// Random Wan2.1 VAE decoder weights (see random_wan_vae.h).
#include "random_wan_vae.h"

#include <cmath>
#include <random>
#include <utility>
#include <vector>

namespace citadel::vista {
namespace {

class RandomVae {
 public:
  explicit RandomVae(uint32_t seed) : engine_(seed) {}

  std::vector<float> values(size_t n, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> out(n);
    for (float& v : out) v = normal(engine_);
    return out;
  }

  VaeConv conv(int64_t in, int64_t out, int64_t kernel_t, int64_t kernel) {
    VaeConv conv;
    conv.name = "random";
    conv.geometry = {in, out, kernel_t, kernel, kernel, kernel / 2, kernel / 2};
    const int64_t fan_in = in * kernel_t * kernel * kernel;
    conv.weight = values(static_cast<size_t>(out * fan_in), 1.0f / std::sqrt(static_cast<float>(fan_in)));
    conv.bias = values(static_cast<size_t>(out), 0.01f);
    return conv;
  }

  VaeResidualBlock residual(int64_t in, int64_t out) {
    VaeResidualBlock block;
    block.norm1_gamma.assign(static_cast<size_t>(in), 1.0f);
    block.norm2_gamma.assign(static_cast<size_t>(out), 1.0f);
    block.conv1 = conv(in, out, 3, 3);
    block.conv2 = conv(out, out, 3, 3);
    if (in != out) block.shortcut = conv(in, out, 1, 1);
    return block;
  }

 private:
  std::mt19937 engine_;
};

}  // namespace

WanVaeWeights random_wan21_vae_weights(int64_t base_dim, uint32_t seed) {
  RandomVae random(seed);
  const int64_t z_dim = 16, num_res_blocks = 2;
  const std::vector<int64_t> mult = {1, 2, 4, 4};
  const std::vector<bool> temporal_up = {true, true, false};
  std::vector<int64_t> dims = {base_dim * mult.back()};
  for (auto it = mult.rbegin(); it != mult.rend(); ++it) dims.push_back(base_dim * *it);
  WanVaeWeights w;
  w.z_dim = z_dim;
  w.latents_mean.assign(z_dim, 0.0f);
  w.latents_std.assign(z_dim, 1.0f);
  w.post_quant_conv = random.conv(z_dim, z_dim, 1, 1);
  w.conv_in = random.conv(z_dim, dims[0], 3, 3);
  w.mid_first = random.residual(dims[0], dims[0]);
  w.mid_attention.norm_gamma.assign(static_cast<size_t>(dims[0]), 1.0f);
  w.mid_attention.to_qkv = random.conv(dims[0], 3 * dims[0], 1, 1);
  w.mid_attention.proj = random.conv(dims[0], dims[0], 1, 1);
  w.mid_second = random.residual(dims[0], dims[0]);
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    int64_t in = i > 0 ? dims[i] / 2 : dims[i];
    const int64_t out = dims[i + 1];
    VaeUpBlock block;
    for (int64_t r = 0; r <= num_res_blocks; ++r, in = out) block.resnets.push_back(random.residual(in, out));
    if (i != mult.size() - 1) {
      VaeUpsampler up;
      if (temporal_up[i]) up.time_conv = random.conv(out, 2 * out, 3, 1);
      up.spatial_conv = random.conv(out, out / 2, 1, 3);
      block.upsampler = std::move(up);
    }
    w.up_blocks.push_back(std::move(block));
  }
  w.norm_out_gamma.assign(static_cast<size_t>(dims.back()), 1.0f);
  w.conv_out = random.conv(dims.back(), 3, 3, 3);
  return w;
}

}  // namespace citadel::vista
