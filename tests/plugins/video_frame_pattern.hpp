// The frames the video test plugin draws, shared with the tests that check
// them after an MP4 round trip: smooth gradients (H.264 keeps them within a
// few levels) whose blue level moves with the frame index and the seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace citadel::test::video {

inline uint8_t frame_blue(uint32_t frame, int64_t seed) {
  return static_cast<uint8_t>(40 + (frame * 12 + static_cast<uint64_t>(seed) * 7) % 176);
}

// RGB, HWC, width * height * 3 bytes.
inline std::vector<uint8_t> frame_pattern(uint32_t width, uint32_t height, uint32_t frame, int64_t seed) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  const uint8_t blue = frame_blue(frame, seed);
  for (uint32_t y = 0; y < height; ++y)
    for (uint32_t x = 0; x < width; ++x) {
      uint8_t* pixel = &rgb[(static_cast<size_t>(y) * width + x) * 3];
      pixel[0] = static_cast<uint8_t>(x * 255 / (width > 1 ? width - 1 : 1));
      pixel[1] = static_cast<uint8_t>(y * 255 / (height > 1 ? height - 1 : 1));
      pixel[2] = blue;
    }
  return rgb;
}

}  // namespace citadel::test::video
