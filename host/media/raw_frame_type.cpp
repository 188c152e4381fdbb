// parse_raw_frame_type / format_raw_frame_type.
#include "host/media/raw_frame_type.h"

#include <charconv>

namespace citadel::media {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<uint32_t> parse_number(std::string_view text) {
  uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<RawFrameType> parse_raw_frame_type(std::string_view type) {
  size_t semicolon = type.find(';');
  if (trim(type.substr(0, semicolon)) != kRawRgbType) return std::nullopt;
  RawFrameType frame;
  while (semicolon != std::string_view::npos) {
    type.remove_prefix(semicolon + 1);
    semicolon = type.find(';');
    const std::string_view parameter = trim(type.substr(0, semicolon));
    const size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view key = parameter.substr(0, equals);
    const std::optional<uint32_t> value = parse_number(parameter.substr(equals + 1));
    if (!value) return std::nullopt;
    if (key == "width") frame.width = *value;
    else if (key == "height") frame.height = *value;
    else if (key == "chunk") frame.chunk = *value;
  }
  if (frame.width == 0 || frame.height == 0) return std::nullopt;
  return frame;
}

std::string format_raw_frame_type(const RawFrameType& frame) {
  std::string type = std::string(kRawRgbType) + ";width=" + std::to_string(frame.width) +
                     ";height=" + std::to_string(frame.height);
  if (frame.chunk) type += ";chunk=" + std::to_string(*frame.chunk);
  return type;
}

}  // namespace citadel::media
