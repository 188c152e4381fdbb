// bench_vista_vae: streams latent frames through the vista VAE decoder
// (WanVaeStream, CPU, fp32) built with random weights at the Wan2.1 VAE's
// shapes (base_dim 96, dim_mult [1,2,4,4], 2 residual blocks, temporal
// upsampling in the last two up blocks) and prints the time per pushed
// latent frame, the pixel frames out and the conv cache bytes.
//
//   bench_vista_vae [latent_height latent_width [latent_frames [threads [base_dim]]]]
//   defaults: 8 8 4 <all cores> 96   (64x64 pixels; 60 104 is 480x832)
#include "wan_vae_decoder.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

using namespace citadel;

namespace {

std::mt19937 random_engine(1);

std::vector<float> random_values(size_t n, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) v = normal(random_engine);
  return values;
}

vista::VaeConv make_conv(int64_t in, int64_t out, int64_t kt, int64_t k) {
  vista::VaeConv conv;
  conv.name = "random";
  conv.geometry = {in, out, kt, k, k, k / 2, k / 2};
  conv.weight = random_values(static_cast<size_t>(out * in * kt * k * k), 1.0f / std::sqrt(float(in * kt * k * k)));
  conv.bias = random_values(static_cast<size_t>(out), 0.01f);
  return conv;
}

vista::VaeResidualBlock make_residual(int64_t in, int64_t out) {
  vista::VaeResidualBlock block;
  block.norm1_gamma.assign(static_cast<size_t>(in), 1.0f);
  block.norm2_gamma.assign(static_cast<size_t>(out), 1.0f);
  block.conv1 = make_conv(in, out, 3, 3);
  block.conv2 = make_conv(out, out, 3, 3);
  if (in != out) block.shortcut = make_conv(in, out, 1, 1);
  return block;
}

// diffusers' WanDecoder3d constructor, Wan2.1 (is_residual false).
vista::WanVaeWeights wan21_decoder(int64_t base_dim) {
  const int64_t z_dim = 16, num_res_blocks = 2;
  const std::vector<int64_t> mult = {1, 2, 4, 4};
  const std::vector<bool> temporal_up = {true, true, false};
  std::vector<int64_t> dims = {base_dim * mult.back()};
  for (auto it = mult.rbegin(); it != mult.rend(); ++it) dims.push_back(base_dim * *it);
  vista::WanVaeWeights w;
  w.z_dim = z_dim;
  w.latents_mean.assign(z_dim, 0.0f);
  w.latents_std.assign(z_dim, 1.0f);
  w.post_quant_conv = make_conv(z_dim, z_dim, 1, 1);
  w.conv_in = make_conv(z_dim, dims[0], 3, 3);
  w.mid_first = make_residual(dims[0], dims[0]);
  w.mid_attention.norm_gamma.assign(static_cast<size_t>(dims[0]), 1.0f);
  w.mid_attention.to_qkv = make_conv(dims[0], 3 * dims[0], 1, 1);
  w.mid_attention.proj = make_conv(dims[0], dims[0], 1, 1);
  w.mid_second = make_residual(dims[0], dims[0]);
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    int64_t in = i > 0 ? dims[i] / 2 : dims[i];
    const int64_t out = dims[i + 1];
    vista::VaeUpBlock block;
    for (int64_t r = 0; r <= num_res_blocks; ++r, in = out) block.resnets.push_back(make_residual(in, out));
    if (i != mult.size() - 1) {
      vista::VaeUpsampler up;
      if (temporal_up[i]) up.time_conv = make_conv(out, 2 * out, 3, 1);
      up.spatial_conv = make_conv(out, out / 2, 1, 3);
      block.upsampler = std::move(up);
    }
    w.up_blocks.push_back(std::move(block));
  }
  w.norm_out_gamma.assign(static_cast<size_t>(dims.back()), 1.0f);
  w.conv_out = make_conv(dims.back(), 3, 3, 3);
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t height = argc > 2 ? std::atoll(argv[1]) : 8;
  const int64_t width = argc > 2 ? std::atoll(argv[2]) : 8;
  const int64_t frames = argc > 3 ? std::atoll(argv[3]) : 4;
  const unsigned threads = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 0;
  const int64_t base_dim = argc > 5 ? std::atoll(argv[5]) : 96;
  const vista::WanVaeDecoder decoder(wan21_decoder(base_dim));
  runtime::ThreadPool pool(threads);
  vista::WanVaeStream stream(decoder, pool);
  std::printf("vista VAE decoder, CPU fp32, base_dim %lld, latent %lldx%lld (pixels %lldx%lld), %u threads\n",
              static_cast<long long>(base_dim), static_cast<long long>(height), static_cast<long long>(width),
              static_cast<long long>(8 * height), static_cast<long long>(8 * width), pool.size());
  double total_ms = 0;
  int64_t pixel_frames = 0;
  for (int64_t f = 0; f < frames; ++f) {
    vista::VideoTensor latent(16, 1, height, width);
    latent.data = random_values(latent.data.size(), 1.0f);
    const auto start = std::chrono::steady_clock::now();
    const vista::VideoTensor pixels = stream.push_pixels(latent);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    total_ms += ms;
    pixel_frames += pixels.frames;
    std::printf("latent frame %lld: %.1f ms -> %lld pixel frames; conv cache %.2f MiB\n", static_cast<long long>(f),
                ms, static_cast<long long>(pixels.frames), stream.state_bytes() / 1048576.0);
  }
  std::printf("total %.1f ms for %lld pixel frames: %.2f pixel frames/s\n", total_ms,
              static_cast<long long>(pixel_frames), pixel_frames / (total_ms / 1000.0));
  return 0;
}
