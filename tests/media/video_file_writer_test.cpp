// Video files of host/media, read back independently: the MP4 (H.264,
// yuv420p) decoded with libavformat/libavcodec (frame count, size, fps and
// pixels close to what was written), the animated preview (WebP chunks
// counted, or a GIF decoded), PNG frames decoded with stb_image, the raw
// frame data_type, and the errors for bad sizes and unknown encoders.
#include <catch2/catch.hpp>

#include "support/test_support.hpp"
#include "support/video_file_reader.hpp"

#include "host/media/png_frame.h"
#include "host/media/raw_frame_type.h"
#include "host/media/video_file_writer.h"

#include <stb_image.h>

#include <cstring>
#include <fstream>
#include <iterator>

using namespace citadel;

namespace {

// A smooth moving pattern (H.264 keeps it close) that differs per frame.
std::vector<uint8_t> pattern_frame(uint32_t width, uint32_t height, uint32_t index) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (uint32_t y = 0; y < height; ++y)
    for (uint32_t x = 0; x < width; ++x) {
      uint8_t* pixel = &rgb[(static_cast<size_t>(y) * width + x) * 3];
      pixel[0] = static_cast<uint8_t>((x * 255) / width);
      pixel[1] = static_cast<uint8_t>((y * 255) / height);
      pixel[2] = static_cast<uint8_t>((index * 20 + (x + y)) % 256 / 2 + 64);
    }
  return rgb;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("an MP4 written frame by frame decodes back to the same frames", "[media]") {
  test::TempDir dir;
  const uint32_t width = 64, height = 48, fps = 16, frames = 10;
  const std::filesystem::path path = dir.path() / "video.mp4";
  const media::VideoFileSpec spec = media::mp4_spec(width, height, fps);
  {
    media::VideoFileWriter writer(path, spec);
    for (uint32_t i = 0; i < frames; ++i) writer.write_frame(pattern_frame(width, height, i).data());
    writer.finish();
    REQUIRE(writer.frames_written() == frames);
  }
  const test::DecodedVideo video = test::read_video_file(path);
  CHECK(video.container.find("mp4") != std::string::npos);
  CHECK(video.codec == (spec.encoder == "libx264" ? "h264" : "mpeg4"));
  CHECK(video.pixel_format == "yuv420p");
  CHECK(video.width == width);
  CHECK(video.height == height);
  CHECK(video.fps == Approx(fps));
  REQUIRE(video.frames.size() == frames);
  for (uint32_t i = 0; i < frames; ++i) {
    INFO("frame " << i);
    CHECK(test::mean_abs_difference(video.frames[i], pattern_frame(width, height, i)) < 3.0);
    if (i > 0) CHECK(test::mean_abs_difference(video.frames[i], pattern_frame(width, height, i - 1)) > 3.0);
  }
}

TEST_CASE("Debian's libavcodec encodes the job MP4 with libx264", "[media]") {
  REQUIRE(media::mp4_spec(16, 16, 8).encoder == "libx264");
}

TEST_CASE("the animated preview is scaled down and holds every frame", "[media]") {
  test::TempDir dir;
  const uint32_t width = 320, height = 192, frames = 6;
  const media::VideoFileSpec spec = media::preview_spec(width, height, 8, 160);
  CHECK(spec.out_width == 160);
  CHECK(spec.out_height == 96);
  const std::filesystem::path path = dir.path() / ("preview." + media::preview_extension());
  media::VideoFileWriter writer(path, spec);
  for (uint32_t i = 0; i < frames; ++i) writer.write_frame(pattern_frame(width, height, i).data());
  writer.finish();
  const std::string bytes = file_bytes(path);
  if (media::preview_extension() == "webp") {
    CHECK(media::preview_content_type() == "image/webp");
    REQUIRE(bytes.size() > 30);
    CHECK(bytes.compare(0, 4, "RIFF") == 0);
    CHECK(bytes.compare(8, 4, "WEBP") == 0);
    CHECK(count_of(bytes, "ANIM") == 1);
    CHECK(count_of(bytes, "ANMF") == frames);
    // VP8X canvas size: 24-bit width-1 and height-1 at offsets 24 and 27.
    auto u24 = [&](size_t at) {
      return uint32_t(uint8_t(bytes[at])) | uint32_t(uint8_t(bytes[at + 1])) << 8 | uint32_t(uint8_t(bytes[at + 2])) << 16;
    };
    CHECK(bytes.compare(12, 4, "VP8X") == 0);
    CHECK(u24(24) + 1 == 160);
    CHECK(u24(27) + 1 == 96);
  } else {
    const test::DecodedVideo gif = test::read_video_file(path);
    CHECK(gif.width == 160);
    CHECK(gif.frames.size() == frames);
  }
}

TEST_CASE("a PNG frame decodes to the exact RGB bytes", "[media]") {
  const std::vector<uint8_t> rgb = pattern_frame(24, 16, 3);
  const std::vector<uint8_t> png = media::encode_png(rgb.data(), 24, 16);
  int width = 0, height = 0, channels = 0;
  unsigned char* decoded = stbi_load_from_memory(png.data(), static_cast<int>(png.size()), &width, &height, &channels, 3);
  REQUIRE(decoded != nullptr);
  CHECK(width == 24);
  CHECK(height == 16);
  CHECK(std::memcmp(decoded, rgb.data(), rgb.size()) == 0);
  stbi_image_free(decoded);
}

TEST_CASE("raw frame data types round-trip and bad ones are refused", "[media]") {
  const media::RawFrameType frame{832, 480, 3};
  CHECK(media::format_raw_frame_type(frame) == "image/x-raw-rgb;width=832;height=480;chunk=3");
  const auto parsed = media::parse_raw_frame_type("image/x-raw-rgb; width=16;height=8");
  REQUIRE(parsed);
  CHECK(parsed->width == 16);
  CHECK(parsed->height == 8);
  CHECK_FALSE(parsed->chunk);
  CHECK_FALSE(media::parse_raw_frame_type("image/png"));
  CHECK_FALSE(media::parse_raw_frame_type("image/x-raw-rgb;width=16"));
  CHECK_FALSE(media::parse_raw_frame_type("image/x-raw-rgb;width=x;height=8"));
}

TEST_CASE("video files refuse odd yuv420p sizes and unknown encoders, naming the file", "[media]") {
  test::TempDir dir;
  REQUIRE_THROWS_WITH(media::VideoFileWriter(dir.path() / "odd.mp4", media::mp4_spec(33, 32, 16)),
                      Catch::Contains("odd.mp4") && Catch::Contains("needs even sizes"));
  media::VideoFileSpec spec = media::mp4_spec(32, 32, 16);
  spec.encoder = "no-such-encoder";
  REQUIRE_THROWS_WITH(media::VideoFileWriter(dir.path() / "x.mp4", spec), Catch::Contains("no encoder 'no-such-encoder'"));
  REQUIRE_THROWS_WITH(media::VideoFileWriter(dir.path() / "missing/dir/x.mp4", media::mp4_spec(32, 32, 16)),
                      Catch::Contains("avio_open"));
}
