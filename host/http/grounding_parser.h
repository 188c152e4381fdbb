// Grounding spans of DeepSeek-OCR output into boxes. The model writes
// `<|ref|>label<|/ref|><|det|>[[x1,y1,x2,y2], ...]<|/det|>` with coordinates
// normalised to 0-999 of the image; a box in pixels of the page is
// int(v / 999 * width) for x and int(v / 999 * height) for y, as the
// reference's draw_bounding_boxes computes it, clamped to the page. The
// text itself is left as the model wrote it.
//
// GroundingScanner is streaming-safe: text may arrive in pieces cut
// anywhere (inside a marker, a label or a number); a span's boxes come out
// once its `<|/det|>` has arrived. A malformed span (a <|ref|> not followed
// by <|det|>, coordinates that are not lists of four numbers) gives no box;
// an open span longer than 4096 bytes is given up.
//
// Called by ocr_endpoint.cpp and image_chat_endpoint.cpp; the [http] tests.
// Not thread-safe; one scanner per page.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

struct GroundingBox {
  std::string label;
  std::array<int64_t, 4> box{};  // x1, y1, x2, y2 in pixels
};

// {"label", "box": [x1, y1, x2, y2]}
boost::json::object grounding_box_json(const GroundingBox& box);

class GroundingScanner {
 public:
  GroundingScanner(uint32_t width, uint32_t height) : width_(width), height_(height) {}

  // The boxes of every span that `text` completes.
  std::vector<GroundingBox> push(std::string_view text);

 private:
  uint32_t width_;
  uint32_t height_;
  std::string pending_;  // text that may still hold (the start of) a span
};

// Every box of a whole text.
std::vector<GroundingBox> parse_grounding(std::string_view text, uint32_t width, uint32_t height);

}  // namespace citadel::http
