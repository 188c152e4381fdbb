// Fuzz target: an uploaded image, the way /v1/ocr and image chat take it.
// The bytes go first through the HTTP side (http::prepare_ocr_pages with
// PDFs refused, as the chat endpoint calls it: format and dimensions read
// from the header, the model's `inputs:` limits checked), then, when the host
// accepts them, through deepseek-ocr's decoding (decode_image: stb_image
// compiled into the plugin, libwebp; its own byte, side and pixel limits)
// and the tile layout of every resolution mode for the decoded size.
// prepare_image's resampling itself is not run here: it costs seconds per
// input under ASan (its inputs, width, height and pixel count, are what
// this target checks).
//
// Limits are the production code's, set smaller than the defaults (side
// 4096, 2^20 pixels, on both sides) so that an input declaring a large image
// costs milliseconds, not seconds: the checks run the same code either way.
// stb_image is compiled into the plugin's image_decode.cpp and instrumented
// (UBSan's shift-exponent check off for that file: CMakeLists.txt says why);
// libwebp is Debian's library, not instrumented.
//
// Oracle: only http::ApiError (host) and ImageInputError (plugin) may be
// thrown; an image both sides accept decodes to exactly the width and height
// the host read from its header (otherwise the host checked its limits on a
// size that is not the one decoded), within the limits, with
// width x height x 3 bytes; every mode's tile grid has 1 to max_crops
// tiles and a positive number of placeholders.
#include "fuzz_support.hpp"

#include "deep_encoder.h"
#include "host/http/api_error.h"
#include "host/http/ocr_pages.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace citadel;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "image_decode finding: %s\n", what.c_str());
  std::abort();
}

constexpr uint32_t kMaxSide = 4096;
constexpr uint64_t kMaxPixels = uint64_t{1} << 20;

// The tile grid and placeholder count of every mode for the decoded size
// (pure arithmetic on any width and height the decoder gives).
void check_layout(const deepseek_ocr::DecodedImage& image) {
  for (const deepseek_ocr::ResolutionMode mode :
       {deepseek_ocr::ResolutionMode::tiny, deepseek_ocr::ResolutionMode::small, deepseek_ocr::ResolutionMode::base,
        deepseek_ocr::ResolutionMode::large, deepseek_ocr::ResolutionMode::gundam}) {
    const deepseek_ocr::TileGrid grid = deepseek_ocr::tile_grid(mode, image.width, image.height);
    if (grid.columns < 1 || grid.rows < 1 || grid.count() > deepseek_ocr::kDefaultMaxCrops)
      finding("tile grid " + std::to_string(grid.columns) + "x" + std::to_string(grid.rows));
    if (deepseek_ocr::num_image_tokens(mode, image.width, image.height) <= 0) finding("no placeholder tokens");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  const config::InputLimits host_limits{.max_image_pixels = kMaxPixels, .max_image_side = kMaxSide};
  std::optional<http::OcrPage> page;
  try {
    std::vector<http::OcrPage> pages =
        http::prepare_ocr_pages(bytes, "file", http::OcrOptions{}, host_limits, /*allow_pdf=*/false);
    if (pages.size() != 1) finding("an image gave " + std::to_string(pages.size()) + " pages");
    page = std::move(pages.front());
  } catch (const http::ApiError&) {
    return 0;
  }
  if (page->payload != bytes) finding("the host changed the image's bytes");
  if (page->width == 0 || page->height == 0 || page->width > kMaxSide || page->height > kMaxSide ||
      uint64_t{page->width} * page->height > kMaxPixels)
    finding("the host accepted an image outside its limits");

  const deepseek_ocr::ImageLimits plugin_limits{.max_encoded_bytes = int64_t{1} << 20,
                                                .max_side = kMaxSide,
                                                .max_pixels = static_cast<int64_t>(kMaxPixels)};
  std::optional<deepseek_ocr::DecodedImage> image;
  try {
    image.emplace(deepseek_ocr::decode_image(bytes, plugin_limits));
  } catch (const deepseek_ocr::ImageInputError&) {
    return 0;
  }
  if (image->width != static_cast<int>(page->width) || image->height != static_cast<int>(page->height))
    finding("the host read " + std::to_string(page->width) + "x" + std::to_string(page->height) +
            " from the header, the plugin decoded " + std::to_string(image->width) + "x" +
            std::to_string(image->height));
  if (image->rgb.size() != static_cast<size_t>(image->width) * static_cast<size_t>(image->height) * 3)
    finding("decoded pixels do not match the size");

  check_layout(*image);
  return 0;
}
