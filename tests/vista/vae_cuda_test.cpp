// [cuda] The vista VAE decoder on CUDA (plugins/vista/vae/wan_vae_cuda.h)
// against the CPU WanVaeStream on a random Wan2.1-structured decoder at
// base_dim 8 (random_wan_vae.h: every block kind — residual blocks with and
// without shortcut, the middle attention, 3-D and 2-D upsamplers — with
// norms over 8 to 32 channels) at a non-square latent size (6x8, 3 frames:
// 9 frames of 48x64). Not the committed tiny checkpoint: its norms span 1 to
// 3 channels, where an RMS norm is nearly sign(x) and an f16 rounding of a
// value near zero can flip a whole pixel (the first H200 run against it gave
// 0.1 scaled error while conv3d_gemm alone matched to 5e-3). Tolerance 1e-2 of the output's scale:
// every conv rounds its inputs and weights to f16 (unit roundoff 4.9e-4
// each, f32 accumulation), ~30 convs in sequence with norms between them,
// and the attention runs in TF32 (~1e-3): 1e-2 leaves room for their growth
// through the blocks while still catching any wrong tap, frame or channel
// (those give errors of order 1).
// Streaming: one latent frame at a time and all at once give identical
// pixels (each pass decodes one latent frame by default, every GEMM has one
// shape per conv); values past f16's range are scaled, not overflowed. The
// same checks for the decoder whose convolutions are cuDNN's (TF32: the
// same unit roundoff as f16 on inputs and weights, f32's range), where
// libcudnn.so.9 loads (a warning names it where it does not).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "runtime_cuda/cuda_test_support.h"

#include "random_wan_vae.h"
#include "wan_vae_cuda.h"

#include "runtime/cuda/cudnn_conv3d.h"
#include "runtime/cuda/layer_kernels.h"
#include "runtime/cuda/vae_kernels.h"
#include "runtime/kernels/conv3d.h"

#include <random>

using namespace citadel;
using runtime::cuda::test::scaled_max_error;
using vista::VideoTensor;

namespace {

vista::WanVaeDecoder random_decoder() { return vista::WanVaeDecoder(vista::random_wan21_vae_weights(8, 3)); }

VideoTensor random_latents(int64_t frames, int64_t height, int64_t width, float scale) {
  std::mt19937 rng(7);
  VideoTensor latents(16, frames, height, width);
  latents.data = runtime::cuda::test::random_floats(latents.data.size(), rng, scale);
  return latents;
}

}  // namespace

TEST_CASE("the CUDA VAE stream matches the CPU stream and streams frame by frame identically", "[vista][cuda]") {
  const vista::WanVaeDecoder decoder = random_decoder();
  const vista::CudaWanVaeDecoder device(decoder);
  const VideoTensor latents = random_latents(3, 6, 8, 2.0f);
  runtime::ThreadPool pool(2);
  vista::WanVaeStream cpu(decoder, pool);
  const VideoTensor expected = cpu.push_pixels(latents);
  REQUIRE(expected.frames == 9);

  vista::CudaWanVaeStream all_at_once(device, nullptr);
  const VideoTensor got = all_at_once.push_pixels(latents);
  REQUIRE(got.channels == 3);
  REQUIRE(got.frames == 9);
  REQUIRE(got.height == 48);
  REQUIRE(got.width == 64);
  const double error = scaled_max_error(got.data, expected.data);
  INFO("CUDA vs CPU scaled error " << error);
  CHECK(error < 1e-2);
  CHECK(all_at_once.latent_frames_decoded() == 3);
  CHECK(all_at_once.state_bytes() == cpu.state_bytes());

  SECTION("one latent frame at a time: 1 then 4 frames per push, identical pixels") {
    vista::CudaWanVaeStream stream(device, nullptr);
    int64_t frame = 0;
    for (int64_t f = 0; f < 3; ++f) {
      const VideoTensor part = stream.push_pixels(vista::frame_range(latents, f, 1));
      REQUIRE(part.frames == (f == 0 ? 1 : 4));
      REQUIRE(part.data == vista::frame_range(got, frame, part.frames).data);
      frame += part.frames;
    }
  }
  SECTION("one pass over all three frames (frames_per_pass 3) gives the same pixels") {
    // Its attention batches three frames in one cuBLAS call and its GEMMs
    // have other shapes: last-bit differences that f16 roundings downstream
    // carry into the pixels, the CPU comparison's class (3.4e-3 on the H200).
    vista::CudaWanVaeStream stream(device, nullptr, nullptr, 3);
    const VideoTensor one_pass = stream.push_pixels(latents);
    const double difference = scaled_max_error(one_pass.data, got.data);
    INFO("one pass vs frame passes " << difference << (one_pass.data == got.data ? " (identical)" : ""));
    CHECK(difference < 1e-2);
    CHECK(scaled_max_error(one_pass.data, expected.data) < 1e-2);
  }
  SECTION("RGB frames are the device pixels converted as to_rgb_frames does") {
    vista::CudaWanVaeStream stream(device, nullptr);
    const std::vector<vista::RgbFrame> rgb = stream.push(vista::frame_range(latents, 0, 2));
    const std::vector<vista::RgbFrame> reference = vista::to_rgb_frames(vista::frame_range(got, 0, 5));
    REQUIRE(rgb.size() == 5);
    for (size_t i = 0; i < rgb.size(); ++i) {
      REQUIRE(rgb[i].width == 64);
      REQUIRE(rgb[i].height == 48);
      REQUIRE(rgb[i].rgb == reference[i].rgb);
    }
  }
  SECTION("bad latents are refused naming the shape") {
    vista::CudaWanVaeStream stream(device, nullptr);
    REQUIRE_THROWS_WITH(stream.push_pixels(VideoTensor(8, 1, 6, 8)), Catch::Contains("must be [16, frames >= 1"));
    stream.push_pixels(vista::frame_range(latents, 0, 1));
    REQUIRE_THROWS_WITH(stream.push_pixels(VideoTensor(16, 1, 4, 4)), Catch::Contains("after frames of 6x8"));
  }
}

TEST_CASE("conv3d_gemm matches runtime::conv3d over a history, row bands and 2x upsampling", "[vista][cuda]") {
  namespace cuda = runtime::cuda;
  // Width 10: the one-position-per-thread im2col; 16: the 8-position one.
  const int64_t width = GENERATE(10, 16);
  const int64_t in = 5, out = 7, height = 6, kept = 2, count = 3, total = 5, first = 1;
  const runtime::Conv3dGeometry geometry{in, out, 3, 3, 3, 1, 1};
  std::mt19937 rng(11);
  const std::vector<float> weight = cuda::test::random_floats(static_cast<size_t>(out * in * 27), rng, 0.2f);
  const std::vector<float> bias = cuda::test::random_floats(static_cast<size_t>(out), rng);
  const std::vector<float> history = cuda::test::random_floats(static_cast<size_t>(in * kept * height * width), rng);
  std::vector<float> frames = cuda::test::random_floats(static_cast<size_t>(in * total * height * width), rng);
  const int64_t plane = height * width;
  for (int64_t c = 0; c < in; ++c)  // frame 2 past f16's range: its slabs are scaled
    for (int64_t q = 0; q < plane; ++q) frames[static_cast<size_t>((c * total + 2) * plane + q)] *= 1e5f;
  const bool upsample = GENERATE(false, true);
  const int64_t scale = upsample ? 2 : 1, out_h = scale * height, out_w = scale * width;
  const std::vector<float> prior = cuda::test::random_floats(static_cast<size_t>(out * count * out_h * out_w), rng);

  // The CPU: [history, frames first..first+count), upsampled, through conv3d, plus prior.
  std::vector<float> sequence(static_cast<size_t>(in * (kept + count) * out_h * out_w));
  for (int64_t c = 0; c < in; ++c)
    for (int64_t t = 0; t < kept + count; ++t) {
      const float* src = t < kept ? history.data() + (c * kept + t) * plane
                                  : frames.data() + (c * total + first + t - kept) * plane;
      float* dst = sequence.data() + (c * (kept + count) + t) * out_h * out_w;
      if (upsample) runtime::upsample_nearest_2x(src, 1, height, width, dst);
      else std::copy_n(src, plane, dst);
    }
  runtime::ThreadPool pool(2);
  std::vector<float> expected(prior.size());
  runtime::conv3d(pool, sequence.data(), kept + count, out_h, out_w, weight.data(), bias.data(), geometry,
                  expected.data());
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += prior[i];

  const cuda::DeviceBuffer weight_f32 = cuda::test::to_device(weight);
  cuda::DeviceBuffer weight_f16(weight.size() * sizeof(uint16_t));
  cuda::float_to_half(weight_f32.as<float>(), weight_f16.as<uint16_t>(), static_cast<int64_t>(weight.size()), nullptr);
  const cuda::DeviceBuffer bias_d = cuda::test::to_device(bias), history_d = cuda::test::to_device(history);
  const cuda::DeviceBuffer frames_d = cuda::test::to_device(frames);
  cuda::DeviceBuffer maxima(static_cast<size_t>(kept + count) * sizeof(float));
  cuda::frame_max_abs(history_d.as<float>(), in, kept, 0, kept, plane, maxima.as<float>(), nullptr);
  cuda::frame_max_abs(frames_d.as<float>(), in, total, first, count, plane, maxima.as<float>() + kept, nullptr);
  const std::vector<float> largest = maxima.to_vector<float>(static_cast<size_t>(kept + count));
  CHECK(largest[1] > 0.0f);
  CHECK(largest[kept + 1] > 1e4f);  // the scaled frame
  cuda::DeviceBuffer result = cuda::test::to_device(prior);
  cuda::Conv3dGemmInput input;
  input.history = history_d.as<float>();
  input.history_frames = kept;
  input.frames = frames_d.as<float>();
  input.frames_total = total;
  input.first = first;
  input.count = count;
  input.height = height;
  input.width = width;
  input.upsample_2x = upsample;
  input.frame_max = maxima.as<float>();
  cuda::CublasContext cublas;
  const cuda::Conv3dGemmWeights conv{weight_f16.as<uint16_t>(), bias_d.as<float>(), in, out, 3, 3, 3};
  // Bands of 5 rows (the last one shorter).
  cuda::conv3d_gemm(cublas, conv, input, result.as<float>(), true, nullptr, 5 * in * 27 * out_w);
  const std::vector<float> got = result.to_vector<float>(prior.size());
  // Per output frame (frame 0 is O(1), frames 1 and 2 see the 1e5 frame).
  for (int64_t t = 0; t < count; ++t) {
    std::vector<float> got_frame, expected_frame;
    for (int64_t o = 0; o < out; ++o) {
      const size_t at = static_cast<size_t>((o * count + t) * out_h * out_w);
      got_frame.insert(got_frame.end(), got.begin() + at, got.begin() + at + out_h * out_w);
      expected_frame.insert(expected_frame.end(), expected.begin() + at, expected.begin() + at + out_h * out_w);
    }
    const double error = scaled_max_error(got_frame, expected_frame);
    INFO("width " << width << ", upsample " << upsample << ", output frame " << t << ": scaled error " << error);
    CHECK(error < 5e-3);
  }
}

TEST_CASE("CUDA VAE inputs past f16's range are scaled, not overflowed", "[vista][cuda]") {
  // Latents of magnitude ~1e5 carry the residual stream far past 65504:
  // unscaled f16 columns would turn into inf and the pixels into NaN.
  const vista::WanVaeDecoder decoder = random_decoder();
  const vista::CudaWanVaeDecoder device(decoder);
  const VideoTensor latents = random_latents(2, 6, 8, 1e5f);
  runtime::ThreadPool pool(2);
  vista::WanVaeStream cpu(decoder, pool);
  const VideoTensor expected = cpu.push_pixels(latents);
  vista::CudaWanVaeStream stream(device, nullptr);
  const VideoTensor got = stream.push_pixels(latents);
  const double error = scaled_max_error(got.data, expected.data);
  INFO("CUDA vs CPU scaled error " << error);
  CHECK(error < 1e-2);
}
TEST_CASE("the CUDA VAE with cuDNN convolutions matches the CPU stream and streams identically", "[vista][cuda]") {
  if (!runtime::cuda::cudnn_available()) {
    WARN("cuDNN convolutions not checked: " << runtime::cuda::cudnn_missing());
    return;
  }
  const vista::WanVaeDecoder decoder = random_decoder();
  const vista::CudaWanVaeDecoder device(decoder, vista::VaeConvolutions::cudnn);
  REQUIRE(device.convolutions() == vista::VaeConvolutions::cudnn);
  runtime::ThreadPool pool(2);
  for (const float scale : {2.0f, 1e5f}) {  // 1e5: past f16's range, which TF32 keeps
    const VideoTensor latents = random_latents(3, 6, 8, scale);
    vista::WanVaeStream cpu(decoder, pool);
    const VideoTensor expected = cpu.push_pixels(latents);
    vista::CudaWanVaeStream all_at_once(device, nullptr);
    const VideoTensor got = all_at_once.push_pixels(latents);
    REQUIRE(got.frames == 9);
    const double error = scaled_max_error(got.data, expected.data);
    INFO("latents of scale " << scale << ": cuDNN vs CPU scaled error " << error);
    CHECK(error < 1e-2);
    // One latent frame at a time: the same passes, identical pixels.
    vista::CudaWanVaeStream stream(device, nullptr);
    int64_t frame = 0;
    for (int64_t f = 0; f < 3; ++f) {
      const VideoTensor part = stream.push_pixels(vista::frame_range(latents, f, 1));
      REQUIRE(part.data == vista::frame_range(got, frame, part.frames).data);
      frame += part.frames;
    }
  }
}
#endif
