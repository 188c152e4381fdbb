// The decoder half of diffusers' AutoencoderKLWan (Wan2.1 VAE) as fp32 weights
// in memory: post_quant_conv, conv_in, the mid block (residual, attention,
// residual), the up blocks (residual blocks, then a 2-D or 3-D upsampler),
// norm_out and conv_out, plus the latents' per-channel mean and std. Shapes
// and block counts are read from the tensors themselves (any base_dim,
// dim_mult, num_res_blocks); config.json supplies latents_mean/std and is
// checked for what this decoder does not implement (is_residual, patch_size).
//
// Loaded once per model by the vista plugin (WanVaeDecoder); immutable after.
// Errors are runtime::RuntimeError naming the folder, file and tensor.
#pragma once

#include "runtime/kernels/conv3d.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace citadel::vista {

// One convolution: weight [out, in, kt, kh, kw] (a Conv2d is kt = 1).
// Causal in time: it needs kernel_t - 1 frames of history before its input.
struct VaeConv {
  std::string name;  // the tensor prefix, for errors
  runtime::Conv3dGeometry geometry;
  std::vector<float> weight;
  std::vector<float> bias;
};

struct VaeResidualBlock {
  std::vector<float> norm1_gamma, norm2_gamma;
  VaeConv conv1, conv2;
  std::optional<VaeConv> shortcut;  // 1x1x1 when in != out channels
};

// Single-head self-attention over the pixels of each frame.
struct VaeAttentionBlock {
  std::vector<float> norm_gamma;
  VaeConv to_qkv;  // 1x1: channels -> 3 * channels (q, k, v)
  VaeConv proj;    // 1x1
};

// upsample2d: nearest 2x then a 3x3 conv. upsample3d adds time_conv
// (3,1,1) doubling the channels into two frames, skipped for the first frame.
struct VaeUpsampler {
  VaeConv spatial_conv;
  std::optional<VaeConv> time_conv;
};

struct VaeUpBlock {
  std::vector<VaeResidualBlock> resnets;
  std::optional<VaeUpsampler> upsampler;
};

struct WanVaeWeights {
  int64_t z_dim = 0;
  std::vector<float> latents_mean, latents_std;  // z_dim each
  VaeConv post_quant_conv;
  VaeConv conv_in;
  VaeResidualBlock mid_first, mid_second;
  VaeAttentionBlock mid_attention;
  std::vector<VaeUpBlock> up_blocks;
  std::vector<float> norm_out_gamma;
  VaeConv conv_out;

  // Temporal and spatial upsampling factors of the whole decoder.
  int64_t temporal_factor() const;
  int64_t spatial_factor() const;
};

// `vae_dir` holds config.json and diffusion_pytorch_model.safetensors; f32,
// f16 and bf16 tensors are converted to f32.
WanVaeWeights load_wan_vae_weights(const std::filesystem::path& vae_dir);

}  // namespace citadel::vista
