// <|ref|>label<|/ref|><|det|>[[...]]<|/det|> spans, scanned as text arrives.
#include "host/http/grounding_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace citadel::http {

namespace {

constexpr std::string_view kRefOpen = "<|ref|>";
constexpr std::string_view kRefClose = "<|/ref|>";
constexpr std::string_view kDetOpen = "<|det|>";
constexpr std::string_view kDetClose = "<|/det|>";
constexpr size_t kMaxOpenSpan = 4096;

// The longest suffix of `text` that is a proper prefix of `marker`.
size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  for (size_t length = std::min(text.size(), marker.size() - 1); length > 0; --length)
    if (text.substr(text.size() - length) == marker.substr(0, length)) return length;
  return 0;
}

void skip_spaces(std::string_view text, size_t& at) {
  while (at < text.size() && (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' || text[at] == '\r')) ++at;
}

bool expect(std::string_view text, size_t& at, char c) {
  skip_spaces(text, at);
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

std::optional<double> read_number(std::string_view text, size_t& at) {
  skip_spaces(text, at);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (error != std::errc() || !std::isfinite(value)) return std::nullopt;
  at = static_cast<size_t>(end - text.data());
  return value;
}

// "[[x1,y1,x2,y2], ...]" -> the lists of four numbers, or nullopt.
std::optional<std::vector<std::array<double, 4>>> read_coordinates(std::string_view text) {
  std::vector<std::array<double, 4>> boxes;
  size_t at = 0;
  if (!expect(text, at, '[')) return std::nullopt;
  do {
    std::array<double, 4> box{};
    if (!expect(text, at, '[')) return std::nullopt;
    for (size_t i = 0; i < 4; ++i) {
      if (i > 0 && !expect(text, at, ',')) return std::nullopt;
      std::optional<double> number = read_number(text, at);
      if (!number) return std::nullopt;
      box[i] = *number;
    }
    if (!expect(text, at, ']')) return std::nullopt;
    boxes.push_back(box);
  } while (expect(text, at, ','));
  if (!expect(text, at, ']')) return std::nullopt;
  skip_spaces(text, at);
  if (at != text.size()) return std::nullopt;
  return boxes;
}

int64_t to_pixels(double normalised, uint32_t size) {
  const double pixels = std::trunc(normalised / 999.0 * size);
  return static_cast<int64_t>(std::clamp(pixels, 0.0, static_cast<double>(size)));
}

}  // namespace

boost::json::object grounding_box_json(const GroundingBox& box) {
  boost::json::array corners;
  for (int64_t value : box.box) corners.emplace_back(value);
  return boost::json::object{{"label", box.label}, {"box", std::move(corners)}};
}

std::vector<GroundingBox> GroundingScanner::push(std::string_view text) {
  pending_ += text;
  std::vector<GroundingBox> found;
  for (;;) {
    const size_t open = pending_.find(kRefOpen);
    if (open == std::string::npos) {  // keep only what may become "<|ref|>"
      pending_.erase(0, pending_.size() - partial_marker_suffix(pending_, kRefOpen));
      return found;
    }
    pending_.erase(0, open);
    const std::string_view span(pending_);
    const size_t ref_close = span.find(kRefClose, kRefOpen.size());
    const size_t det_open = ref_close == std::string_view::npos ? ref_close : ref_close + kRefClose.size();
    const bool det_follows = det_open != std::string_view::npos && span.substr(det_open).starts_with(kDetOpen);
    const bool det_may_follow = det_open != std::string_view::npos && kDetOpen.starts_with(span.substr(det_open));
    const size_t det_close = det_follows ? span.find(kDetClose, det_open + kDetOpen.size()) : std::string_view::npos;
    const bool waiting = ref_close == std::string_view::npos || (!det_follows && det_may_follow) ||
                         (det_follows && det_close == std::string_view::npos);
    if (waiting) {
      if (pending_.size() <= kMaxOpenSpan) return found;
      pending_.erase(0, kRefOpen.size());  // an open span too long: give it up
      continue;
    }
    if (!det_follows) {  // <|ref|>...<|/ref|> without <|det|>: no box
      pending_.erase(0, det_open);
      continue;
    }
    const std::string label(span.substr(kRefOpen.size(), ref_close - kRefOpen.size()));
    const size_t coordinates_at = det_open + kDetOpen.size();
    if (auto boxes = read_coordinates(span.substr(coordinates_at, det_close - coordinates_at)))
      for (const std::array<double, 4>& box : *boxes)
        found.push_back(GroundingBox{label,
                                     {to_pixels(box[0], width_), to_pixels(box[1], height_),
                                      to_pixels(box[2], width_), to_pixels(box[3], height_)}});
    pending_.erase(0, det_close + kDetClose.size());
  }
}

std::vector<GroundingBox> parse_grounding(std::string_view text, uint32_t width, uint32_t height) {
  GroundingScanner scanner(width, height);
  return scanner.push(text);
}

}  // namespace citadel::http
