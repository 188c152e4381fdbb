// Loading AutoencoderKLWan's decoder tensors (diffusers names) into WanVaeWeights.
#include "wan_vae_weights.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/formats/safetensors.h"

namespace citadel::vista {

namespace {

using runtime::RuntimeError;

class VaeTensorReader {
 public:
  explicit VaeTensorReader(const std::filesystem::path& dir) : dir_(dir), checkpoint_(open(dir)) {}

  bool has(const std::string& name) const { return checkpoint_.has(name); }

  std::vector<float> floats(const std::string& name, const runtime::Shape& expected_prefix = {}) const {
    runtime::Tensor tensor = checkpoint_.tensor(name).to_f32();
    for (size_t i = 0; i < expected_prefix.size(); ++i)
      if (tensor.rank() <= static_cast<int64_t>(i) || tensor.dim(static_cast<int64_t>(i)) != expected_prefix[i])
        throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                           dir_.string() + ": tensor " + name + " is " + tensor.description() +
                               ", expected dimension " + std::to_string(i) + " to be " +
                               std::to_string(expected_prefix[i]));
    const float* data = tensor.data_as<float>();
    return std::vector<float>(data, data + tensor.numel());
  }

  // A Conv3d (rank 5) or Conv2d (rank 4) with "same" spatial padding.
  VaeConv conv(const std::string& prefix, int64_t in_channels) const {
    VaeConv conv;
    conv.name = prefix;
    runtime::Tensor weight = checkpoint_.tensor(prefix + ".weight");
    const runtime::Shape& shape = weight.shape();
    if (shape.size() != 5 && shape.size() != 4)
      throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, dir_.string() + ": tensor " + prefix +
                                                           ".weight is " + weight.description() +
                                                           ", expected a 4-D or 5-D convolution weight");
    const bool is_3d = shape.size() == 5;
    runtime::Conv3dGeometry& g = conv.geometry;
    g.out_channels = shape[0];
    g.in_channels = shape[1];
    g.kernel_t = is_3d ? shape[2] : 1;
    g.kernel_h = shape[is_3d ? 3 : 2];
    g.kernel_w = shape[is_3d ? 4 : 3];
    g.pad_h = g.kernel_h / 2;
    g.pad_w = g.kernel_w / 2;
    if (in_channels > 0 && g.in_channels != in_channels)
      throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                         dir_.string() + ": tensor " + prefix + ".weight takes " + std::to_string(g.in_channels) +
                             " input channels, the layer before gives " + std::to_string(in_channels));
    conv.weight = floats(prefix + ".weight");
    conv.bias = floats(prefix + ".bias", {g.out_channels});
    return conv;
  }

  std::vector<float> gamma(const std::string& name, int64_t channels) const {
    return floats(name, {channels});
  }

  VaeResidualBlock residual(const std::string& prefix, int64_t in_channels) const {
    VaeResidualBlock block;
    block.norm1_gamma = gamma(prefix + ".norm1.gamma", in_channels);
    block.conv1 = conv(prefix + ".conv1", in_channels);
    const int64_t out_channels = block.conv1.geometry.out_channels;
    block.norm2_gamma = gamma(prefix + ".norm2.gamma", out_channels);
    block.conv2 = conv(prefix + ".conv2", out_channels);
    if (has(prefix + ".conv_shortcut.weight")) block.shortcut = conv(prefix + ".conv_shortcut", in_channels);
    else if (in_channels != out_channels)
      throw RuntimeError(CITADEL_ERR_NOT_FOUND, dir_.string() + ": " + prefix +
                                                    ".conv_shortcut.weight is missing (" + std::to_string(in_channels) +
                                                    " -> " + std::to_string(out_channels) + " channels)");
    return block;
  }

 private:
  static runtime::SafetensorsCheckpoint open(const std::filesystem::path& dir) {
    const std::filesystem::path file = dir / "diffusion_pytorch_model.safetensors";
    if (!std::filesystem::exists(file))
      throw RuntimeError(CITADEL_ERR_NOT_FOUND, dir.string() + ": diffusion_pytorch_model.safetensors not found");
    return runtime::SafetensorsCheckpoint(file);
  }

  std::filesystem::path dir_;
  runtime::SafetensorsCheckpoint checkpoint_;
};

std::vector<float> float_list(const boost::json::object& config, const char* key, size_t size,
                              const std::string& where) {
  const boost::json::value* value = config.if_contains(key);
  if (value == nullptr || !value->is_array() || value->as_array().size() != size)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                       where + ": " + key + " must be a list of " + std::to_string(size) + " numbers");
  std::vector<float> out;
  for (const boost::json::value& item : value->as_array())
    out.push_back(static_cast<float>(runtime::number_value(item, where + ": " + key)));
  return out;
}

}  // namespace

int64_t WanVaeWeights::temporal_factor() const {
  int64_t factor = 1;
  for (const VaeUpBlock& block : up_blocks)
    if (block.upsampler && block.upsampler->time_conv) factor *= 2;
  return factor;
}

int64_t WanVaeWeights::spatial_factor() const {
  int64_t factor = 1;
  for (const VaeUpBlock& block : up_blocks)
    if (block.upsampler) factor *= 2;
  return factor;
}

WanVaeWeights load_wan_vae_weights(const std::filesystem::path& vae_dir) {
  const std::filesystem::path config_path = vae_dir / "config.json";
  const std::string where = config_path.string();
  const boost::json::value config_value = runtime::read_json_file(config_path);
  const boost::json::object& config = runtime::as_object(config_value, where);
  if (runtime::optional_bool(config, "is_residual", where).value_or(false))
    throw RuntimeError(CITADEL_ERR_UNSUPPORTED, where + ": is_residual: true (the Wan2.2 VAE) is not supported");
  if (const boost::json::value* patch = config.if_contains("patch_size"); patch != nullptr && !patch->is_null())
    throw RuntimeError(CITADEL_ERR_UNSUPPORTED, where + ": patch_size is set (the Wan2.2 VAE); not supported");

  const VaeTensorReader reader(vae_dir);
  WanVaeWeights weights;
  weights.post_quant_conv = reader.conv("post_quant_conv", 0);
  weights.z_dim = weights.post_quant_conv.geometry.in_channels;
  const int64_t z_dim = runtime::optional_int(config, "z_dim", where).value_or(weights.z_dim);
  if (z_dim != weights.z_dim)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, where + ": z_dim is " + std::to_string(z_dim) +
                                                         " but post_quant_conv takes " + std::to_string(weights.z_dim));
  weights.latents_mean = float_list(config, "latents_mean", static_cast<size_t>(z_dim), where);
  weights.latents_std = float_list(config, "latents_std", static_cast<size_t>(z_dim), where);

  weights.conv_in = reader.conv("decoder.conv_in", z_dim);
  int64_t channels = weights.conv_in.geometry.out_channels;
  weights.mid_first = reader.residual("decoder.mid_block.resnets.0", channels);
  weights.mid_attention.norm_gamma = reader.gamma("decoder.mid_block.attentions.0.norm.gamma", channels);
  weights.mid_attention.to_qkv = reader.conv("decoder.mid_block.attentions.0.to_qkv", channels);
  weights.mid_attention.proj = reader.conv("decoder.mid_block.attentions.0.proj", channels);
  if (weights.mid_attention.to_qkv.geometry.out_channels != 3 * channels)
    throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, vae_dir.string() +
                                                         ": decoder.mid_block.attentions.0.to_qkv must give 3x" +
                                                         std::to_string(channels) + " channels");
  weights.mid_second = reader.residual("decoder.mid_block.resnets.1", channels);

  for (int64_t b = 0;; ++b) {
    const std::string prefix = "decoder.up_blocks." + std::to_string(b);
    if (!reader.has(prefix + ".resnets.0.conv1.weight")) break;
    VaeUpBlock block;
    for (int64_t r = 0; reader.has(prefix + ".resnets." + std::to_string(r) + ".conv1.weight"); ++r) {
      block.resnets.push_back(reader.residual(prefix + ".resnets." + std::to_string(r), channels));
      channels = block.resnets.back().conv2.geometry.out_channels;
    }
    const std::string upsampler = prefix + ".upsamplers.0";
    if (reader.has(upsampler + ".resample.1.weight")) {
      VaeUpsampler up;
      if (reader.has(upsampler + ".time_conv.weight")) {
        up.time_conv = reader.conv(upsampler + ".time_conv", channels);
        if (up.time_conv->geometry.out_channels != 2 * channels || up.time_conv->geometry.kernel_h != 1 ||
            up.time_conv->geometry.kernel_w != 1)
          throw RuntimeError(CITADEL_ERR_INVALID_ARGUMENT,
                             vae_dir.string() + ": " + upsampler + ".time_conv must be (3,1,1) giving 2x channels");
      }
      up.spatial_conv = reader.conv(upsampler + ".resample.1", channels);
      channels = up.spatial_conv.geometry.out_channels;
      block.upsampler = std::move(up);
    }
    weights.up_blocks.push_back(std::move(block));
  }
  if (weights.up_blocks.empty())
    throw RuntimeError(CITADEL_ERR_NOT_FOUND, vae_dir.string() + ": no decoder.up_blocks.* tensors");
  weights.norm_out_gamma = reader.gamma("decoder.norm_out.gamma", channels);
  weights.conv_out = reader.conv("decoder.conv_out", channels);
  return weights;
}

}  // namespace citadel::vista
