// The data_type of a raw RGB frame in a step output, the frame contract
// between text-to-video plugins and the host:
//   "image/x-raw-rgb;width=W;height=H" with optional ";chunk=K" (the
//   generation chunk the frame belongs to; frames of one chunk share K).
// The data is W*H*3 bytes, RGB, row-major, top row first (HWC uint8).
// Used by host/jobs (parsing) and the test plugins (the same text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::media {

inline constexpr std::string_view kRawRgbType = "image/x-raw-rgb";

struct RawFrameType {
  uint32_t width = 0, height = 0;
  std::optional<uint32_t> chunk;
};

// nullopt when `type` is not a raw RGB frame type with positive sizes.
std::optional<RawFrameType> parse_raw_frame_type(std::string_view type);
std::string format_raw_frame_type(const RawFrameType& frame);

}  // namespace citadel::media
