// bench_vista_vae: streams latent frames through the vista VAE decoder
// built with random weights at the Wan2.1 VAE's shapes (base_dim 96,
// dim_mult [1,2,4,4], 2 residual blocks, temporal upsampling in the last two
// up blocks) and prints the time per pushed latent frame, the pixel frames
// out and the conv cache bytes. CPU (WanVaeStream, fp32) by default; with
// --cuda (CUDA builds) CudaWanVaeStream::push (RGB out, as the plugin runs
// it), plus the conv FLOPs, the TFLOP/s achieved, and as references one
// cuBLAS GEMM of the largest conv's slab shape alone and that conv's whole
// conv3d_gemm (im2col + GEMM + scatter) on one frame. --cudnn (with --cuda)
// then streams the same frames through a decoder whose convolutions are
// cuDNN's (TF32, runtime/cuda/cudnn_conv3d.h), in the same run.
//
//   bench_vista_vae [--cuda [--cudnn]] [latent_height latent_width [latent_frames [threads [base_dim]]]]
//   defaults: 8 8 4 <all cores> 96   (64x64 pixels; 60 104 is 480x832)
#include "random_wan_vae.h"
#include "wan_vae_decoder.h"

#ifdef CITADEL_HAVE_CUDA
#include "wan_vae_cuda.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cudnn_conv3d.h"
#include "runtime/cuda/vae_kernels.h"
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

using namespace citadel;

namespace {

std::mt19937 random_engine(1);

std::vector<float> random_values(size_t n, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) v = normal(random_engine);
  return values;
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

int run_cpu(const vista::WanVaeDecoder& decoder, int64_t height, int64_t width, int64_t frames, unsigned threads,
            int64_t base_dim) {
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
    const double ms = milliseconds_since(start);
    total_ms += ms;
    pixel_frames += pixels.frames;
    std::printf("latent frame %lld: %.1f ms -> %lld pixel frames; conv cache %.2f MiB\n", static_cast<long long>(f),
                ms, static_cast<long long>(pixels.frames), stream.state_bytes() / 1048576.0);
  }
  std::printf("total %.1f ms for %lld pixel frames: %.2f pixel frames/s\n", total_ms,
              static_cast<long long>(pixel_frames), pixel_frames / (total_ms / 1000.0));
  return 0;
}

#ifdef CITADEL_HAVE_CUDA
// The conv with the most FLOPs per output frame, its input size (after the
// 2x upsampling of an upsampler's spatial conv) at latent height x width.
struct LargestConv {
  const vista::CudaVaeConv* conv = nullptr;
  int64_t height = 0, width = 0;
  bool upsample = false;
  double flops = 0;
};

LargestConv largest_conv(const vista::CudaWanVaeDecoder& device, int64_t height, int64_t width) {
  LargestConv best;
  auto visit = [&](const vista::CudaVaeConv& conv, int64_t h, int64_t w, bool upsample) {
    const runtime::Conv3dGeometry& g = conv.geometry;
    const int64_t scale = upsample ? 2 : 1;
    const double flops =
        2.0 * g.out_channels * g.in_channels * g.kernel_t * g.kernel_h * g.kernel_w * h * w * scale * scale;
    if (flops > best.flops) best = {&conv, h, w, upsample, flops};
  };
  for (const vista::CudaVaeUpBlock& block : device.up_blocks) {
    for (const vista::CudaVaeResidual& resnet : block.resnets) {
      visit(resnet.conv1, height, width, false);
      visit(resnet.conv2, height, width, false);
    }
    if (!block.spatial_conv) continue;
    visit(*block.spatial_conv, height, width, true);
    height *= 2;
    width *= 2;
  }
  visit(device.conv_out, height, width, false);
  return best;
}

// One cuBLAS GEMM of the conv's slab shape (f16 operands, f32 out), and its
// whole conv3d_gemm on one frame, each averaged over `repeats`.
void time_reference(const LargestConv& largest, int repeats) {
  namespace cuda = runtime::cuda;
  const runtime::Conv3dGeometry& g = largest.conv->geometry;
  const int64_t scale = largest.upsample ? 2 : 1, out_h = largest.height * scale, out_w = largest.width * scale;
  const int64_t taps = g.in_channels * g.kernel_t * g.kernel_h * g.kernel_w;
  const int64_t band = std::clamp<int64_t>(cuda::kConv3dColumnCap / (taps * out_w), 1, out_h);
  const int64_t positions = band * out_w;
  cuda::CublasContext cublas;
  cuda::DeviceBuffer columns(static_cast<size_t>(positions * taps) * 2);
  cuda::DeviceBuffer result(static_cast<size_t>(positions * g.out_channels) * 4);
  columns.zero();
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r <= repeats; ++r) {
    if (r == 1) {
      cuda::synchronize();
      start = std::chrono::steady_clock::now();
    }
    cuda::matmul_f16_input(cublas, columns.as<uint16_t>(), positions, taps, largest.conv->weight.as<uint16_t>(),
                           cuda::WeightLayout::out_in, g.out_channels, result.as<float>(), nullptr, nullptr);
  }
  cuda::synchronize();
  const double gemm_ms = milliseconds_since(start) / repeats;
  const double gemm_flops = 2.0 * positions * taps * g.out_channels;
  std::printf("reference: %s as one GEMM m=%lld n=%lld k=%lld (%lld of %lld rows): %.3f ms, %.1f TFLOP/s\n",
              largest.conv->name.c_str(), static_cast<long long>(positions), static_cast<long long>(g.out_channels),
              static_cast<long long>(taps), static_cast<long long>(band), static_cast<long long>(out_h), gemm_ms,
              gemm_flops / gemm_ms / 1e9);

  const int64_t kept = g.kernel_t - 1, plane = largest.height * largest.width;
  cuda::DeviceBuffer input(static_cast<size_t>(g.in_channels * (kept + 1) * plane) * 4);
  cuda::DeviceBuffer maxima(static_cast<size_t>(kept + 1) * 4);
  cuda::DeviceBuffer out(static_cast<size_t>(g.out_channels * out_h * out_w) * 4);
  input.zero();
  maxima.zero();
  cuda::Conv3dGemmInput in;
  in.frames = input.as<float>();
  in.frames_total = in.count = kept + 1;
  in.height = largest.height;
  in.width = largest.width;
  in.upsample_2x = largest.upsample;
  in.frame_max = maxima.as<float>();
  for (int r = 0; r <= repeats; ++r) {
    if (r == 1) {
      cuda::synchronize();
      start = std::chrono::steady_clock::now();
    }
    cuda::conv3d_gemm(cublas, largest.conv->view(), in, out.as<float>(), false, nullptr);
  }
  cuda::synchronize();
  const double conv_ms = milliseconds_since(start) / repeats;
  std::printf("reference: %s conv3d_gemm on one %lldx%lld frame: %.3f ms, %.1f TFLOP/s (GEMMs alone: %.3f ms)\n",
              largest.conv->name.c_str(), static_cast<long long>(out_h), static_cast<long long>(out_w), conv_ms,
              largest.flops / conv_ms / 1e9, gemm_ms * static_cast<double>((out_h + band - 1) / band));
}

int run_cuda(const vista::WanVaeDecoder& decoder, int64_t height, int64_t width, int64_t frames, int64_t base_dim,
             vista::VaeConvolutions convolutions) {
  const bool cudnn = convolutions == vista::VaeConvolutions::cudnn;
  if (cudnn && !runtime::cuda::cudnn_available()) {
    std::printf("cudnn convolutions: libcudnn.so.9 not usable (%s)\n", runtime::cuda::cudnn_missing().c_str());
    return 1;
  }
  const vista::CudaWanVaeDecoder device(decoder, convolutions);
  vista::CudaWanVaeStream stream(device, nullptr);
  std::printf("vista VAE decoder, CUDA (%s) %s, base_dim %lld, latent %lldx%lld (pixels %lldx%lld)\n",
              runtime::cuda::device_name().c_str(), cudnn ? "cuDNN convolutions (TF32)" : "im2col + f16 GEMMs",
              static_cast<long long>(base_dim), static_cast<long long>(height),
              static_cast<long long>(width), static_cast<long long>(8 * height), static_cast<long long>(8 * width));
  double steady_ms = 0, steady_flops = 0;
  int64_t steady_frames = 0, steady_pushes = 0;
  for (int64_t f = 0; f < frames; ++f) {
    vista::VideoTensor latent(16, 1, height, width);
    latent.data = random_values(latent.data.size(), 1.0f);
    const double flops = device.flops(1, height, width, f == 0);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<vista::RgbFrame> rgb = stream.push(latent);
    const double ms = milliseconds_since(start);
    std::printf("latent frame %lld: %.1f ms -> %lld pixel frames; %.2f TFLOP conv+attention, %.1f TFLOP/s; "
                "conv cache %.2f MiB\n",
                static_cast<long long>(f), ms, static_cast<long long>(rgb.size()), flops / 1e12, flops / ms / 1e9,
                stream.state_bytes() / 1048576.0);
    if (f >= 2 || (f == 1 && frames == 2)) {  // frame 0 is special, frame 1 warms the workspace
      steady_ms += ms;
      steady_flops += flops;
      steady_frames += static_cast<int64_t>(rgb.size());
      ++steady_pushes;
    }
  }
  if (steady_pushes > 0)
    std::printf("steady: %.1f ms per latent frame, %.2f pixel frames/s, %.1f TFLOP/s (%.2f TFLOP per latent frame)\n",
                steady_ms / steady_pushes, steady_frames / (steady_ms / 1000.0), steady_flops / steady_ms / 1e9,
                steady_flops / steady_pushes / 1e12);
  if (!cudnn) time_reference(largest_conv(device, height, width), 10);
  return 0;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  bool cuda = false, cudnn = false;
  std::vector<char*> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--cuda") == 0) cuda = true;
    else if (std::strcmp(argv[i], "--cudnn") == 0) cudnn = true;
    else args.push_back(argv[i]);
  }
  const size_t n = args.size();
  const int64_t height = n > 1 ? std::atoll(args[0]) : 8;
  const int64_t width = n > 1 ? std::atoll(args[1]) : 8;
  const int64_t frames = n > 2 ? std::atoll(args[2]) : 4;
  const unsigned threads = n > 3 ? static_cast<unsigned>(std::atoi(args[3])) : 0;
  const int64_t base_dim = n > 4 ? std::atoll(args[4]) : 96;
  const vista::WanVaeDecoder decoder(vista::random_wan21_vae_weights(base_dim, 1));
  if (!cuda) return run_cpu(decoder, height, width, frames, threads, base_dim);
#ifdef CITADEL_HAVE_CUDA
  const int status = run_cuda(decoder, height, width, frames, base_dim, vista::VaeConvolutions::im2col_gemm);
  if (status != 0 || !cudnn) return status;
  return run_cuda(decoder, height, width, frames, base_dim, vista::VaeConvolutions::cudnn);
#else
  (void)cudnn;
  std::fprintf(stderr, "bench_vista_vae: --cuda needs a CUDA build\n");
  return 2;
#endif
}
