// The vista VAE decoder (plugins/vista/vae) against diffusers' AutoencoderKLWan
// on the tiny checkpoint of tests/data/vista (vae.latents [1,16,3,4,4] ->
// vae.out [1,3,9,32,32], made by tools/vista/make_vista_reference.py): the
// one-shot decode within 1e-3 relative error, a frame-by-frame (streamed)
// decode identical to the one-shot one, the frame counts per push, the RGB
// conversion, and the errors for bad latents.
#include <catch2/catch.hpp>

#include "support/test_support.hpp"

#include "runtime/formats/safetensors.h"
#include "wan_vae_decoder.h"

#include <algorithm>
#include <cmath>

using namespace citadel;
using vista::VideoTensor;

namespace {

std::filesystem::path vista_data() { return test::source_dir() / "tests/data/vista"; }

VideoTensor reference_tensor(const std::string& name) {
  runtime::SafetensorsFile file(vista_data() / "reference.safetensors");
  runtime::Tensor tensor = file.tensor(name).to_f32();
  REQUIRE(tensor.rank() == 5);
  REQUIRE(tensor.dim(0) == 1);
  VideoTensor out(tensor.dim(1), tensor.dim(2), tensor.dim(3), tensor.dim(4));
  std::copy_n(tensor.data_as<float>(), tensor.numel(), out.data.begin());
  return out;
}

// Max |a - b| / max |b| over the whole tensor.
double relative_error(const VideoTensor& got, const VideoTensor& expected) {
  REQUIRE(got.data.size() == expected.data.size());
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < got.data.size(); ++i) {
    worst = std::max(worst, std::abs(double(got.data[i]) - expected.data[i]));
    scale = std::max(scale, std::abs(double(expected.data[i])));
  }
  return worst / scale;
}

}  // namespace

TEST_CASE("the VAE decoder matches diffusers' AutoencoderKLWan.decode on the tiny checkpoint", "[vista][vae]") {
  const vista::WanVaeDecoder decoder = vista::WanVaeDecoder::load(vista_data() / "tiny/vae");
  REQUIRE(decoder.z_dim() == 16);
  REQUIRE(decoder.weights().temporal_factor() == 4);
  REQUIRE(decoder.weights().spatial_factor() == 8);
  const VideoTensor latents = reference_tensor("vae.latents");
  const VideoTensor expected = reference_tensor("vae.out");
  runtime::ThreadPool pool(2);

  vista::WanVaeStream one_shot(decoder, pool);
  const VideoTensor all = one_shot.push_pixels(latents);
  REQUIRE(all.channels == 3);
  REQUIRE(all.frames == 9);
  REQUIRE(all.height == 32);
  REQUIRE(all.width == 32);
  const double error = relative_error(all, expected);
  INFO("relative error " << error);
  REQUIRE(error < 1e-3);

  SECTION("streamed one latent frame at a time: identical pixels, 1 then 4 frames per push") {
    vista::WanVaeStream stream(decoder, pool);
    std::vector<VideoTensor> parts;
    for (int64_t f = 0; f < latents.frames; ++f) {
      parts.push_back(stream.push_pixels(vista::frame_range(latents, f, 1)));
      REQUIRE(parts.back().frames == (f == 0 ? 1 : 4));
      REQUIRE(stream.state_bytes() > 0);
    }
    REQUIRE(stream.latent_frames_decoded() == 3);
    int64_t frame = 0;
    for (const VideoTensor& part : parts) {
      REQUIRE(part.data == vista::frame_range(all, frame, part.frames).data);
      frame += part.frames;
    }
    REQUIRE(frame == 9);
  }
  SECTION("one frame, then two at once") {
    vista::WanVaeStream stream(decoder, pool);
    const VideoTensor first = stream.push_pixels(vista::frame_range(latents, 0, 1));
    const VideoTensor rest = stream.push_pixels(vista::frame_range(latents, 1, 2));
    REQUIRE(rest.frames == 8);
    REQUIRE(first.data == vista::frame_range(all, 0, 1).data);
    REQUIRE(rest.data == vista::frame_range(all, 1, 8).data);
  }
  SECTION("RGB frames are the clamped pixels scaled to 0..255, HWC") {
    vista::WanVaeStream stream(decoder, pool);
    const std::vector<vista::RgbFrame> rgb = stream.push(vista::frame_range(latents, 0, 1));
    REQUIRE(rgb.size() == 1);
    REQUIRE(rgb[0].width == 32);
    REQUIRE(rgb[0].rgb.size() == 32 * 32 * 3);
    for (int64_t p = 0; p < 32 * 32; p += 37)
      for (int64_t c = 0; c < 3; ++c) {
        const double unit = (all.data[c * 9 * 1024 + p] + 1.0) / 2.0 * 255.0;
        REQUIRE(std::abs(rgb[0].rgb[p * 3 + c] - unit) <= 0.5001);
      }
  }
  SECTION("bad latents are refused naming the shape") {
    vista::WanVaeStream stream(decoder, pool);
    REQUIRE_THROWS_WITH(stream.push_pixels(VideoTensor(8, 1, 4, 4)), Catch::Contains("must be [16, frames >= 1"));
    stream.push_pixels(vista::frame_range(latents, 0, 1));
    REQUIRE_THROWS_WITH(stream.push_pixels(VideoTensor(16, 1, 2, 2)), Catch::Contains("after frames of 4x4"));
  }
}

TEST_CASE("denormalize applies the config's latents_std and latents_mean per channel", "[vista][vae]") {
  const vista::WanVaeDecoder decoder = vista::WanVaeDecoder::load(vista_data() / "tiny/vae");
  VideoTensor latents(16, 2, 1, 1);
  std::fill(latents.data.begin(), latents.data.end(), 1.0f);
  decoder.denormalize(latents);
  REQUIRE(latents.data[0] == Approx(2.8184f - 0.7571f));
  REQUIRE(latents.data[15 * 2 + 1] == Approx(1.916f - 0.2921f));
}

TEST_CASE("a VAE folder without weights is refused naming the file", "[vista][vae]") {
  test::TempDir dir;
  dir.write("config.json", R"({"z_dim": 16})");
  REQUIRE_THROWS_WITH(vista::WanVaeDecoder::load(dir.path()),
                      Catch::Contains("diffusion_pytorch_model.safetensors not found"));
}
