// Reads a video file back with libavformat / libavcodec for the tests of
// video jobs: container and codec names, size, frame rate and every frame
// converted to RGB24 (HWC), so a test can compare the pixels it sent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace citadel::test {

struct DecodedVideo {
  std::string container;  // libavformat's name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // e.g. "h264"
  std::string pixel_format;
  uint32_t width = 0, height = 0;
  double fps = 0;
  std::vector<std::vector<uint8_t>> frames;  // RGB24, width*height*3 each
};

// Throws std::runtime_error naming the file when it cannot be decoded.
DecodedVideo read_video_file(const std::filesystem::path& path);

// Mean absolute difference of two RGB byte arrays of the same size.
double mean_abs_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace citadel::test
