// Fuzz target: an uploaded PDF, the way /v1/ocr takes it
// (http::prepare_ocr_pages: poppler opens the document, every selected
// page's size is checked against the model's `inputs:` limits before any is
// rendered, then each page is rendered and encoded as PNG). Built only with
// CITADEL_PDF=ON, like the code it runs.
//
// Limits and options are the production code's with smaller values than the
// defaults, so that one input costs milliseconds: mode "tiny" (the longer
// side rendered at 512 pixels), at most 4 pages, 300 dpi, side 4096,
// 2^20 pixels, one render thread. Inputs without "%PDF-" in their first
// 1024 bytes go the image path (image_decode's target) and are skipped here.
//
// poppler is Debian's library, not instrumented: libFuzzer sees coverage of
// Citadel's side only, and ASan finds poppler's memory errors only where
// they pass through intercepted calls (malloc/free, memcpy, string
// functions). fontconfig's process-wide caches, allocated on the first
// rendered text, are suppressed for LeakSanitizer by
// tests/sanitizers/lsan.supp (scripts/fuzz.sh passes it).
//
// Oracle: only http::ApiError may be thrown; the pages come back in order,
// numbered from 1, each within the limits, and each payload is a PNG whose
// header declares the page's width and height.
#include "fuzz_support.hpp"

#include "host/http/api_error.h"
#include "host/http/image_header.h"
#include "host/http/ocr_pages.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace citadel;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "pdf_render finding: %s\n", what.c_str());
  std::abort();
}

constexpr uint32_t kMaxSide = 4096;
constexpr uint64_t kMaxPixels = uint64_t{1} << 20;
constexpr uint32_t kMaxPages = 4;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  if (!http::looks_like_pdf(bytes)) return 0;
  const config::InputLimits limits{
      .max_image_pixels = kMaxPixels, .max_image_side = kMaxSide, .max_pdf_pages = kMaxPages, .max_pdf_dpi = 300};
  http::OcrOptions options;
  options.mode = "tiny";
  options.max_pages = kMaxPages;
  std::vector<http::OcrPage> pages;
  try {
    pages = http::prepare_ocr_pages(bytes, "file", options, limits, /*allow_pdf=*/true, /*render_threads=*/1);
  } catch (const http::ApiError&) {
    return 0;
  }
  if (pages.empty() || pages.size() > kMaxPages) finding(std::to_string(pages.size()) + " pages came back");
  for (size_t i = 0; i < pages.size(); ++i) {
    const http::OcrPage& page = pages[i];
    const std::string which = "page " + std::to_string(page.number);
    if (page.number != i + 1) finding(which + " came back as the " + std::to_string(i + 1) + "th");
    if (page.width == 0 || page.height == 0 || page.width > kMaxSide || page.height > kMaxSide ||
        uint64_t{page.width} * page.height > kMaxPixels)
      finding(which + " is " + std::to_string(page.width) + "x" + std::to_string(page.height) + ", outside the limits");
    if (!(page.dpi > 0 && page.dpi <= 300)) finding(which + " rendered at " + std::to_string(page.dpi) + " dpi");
    const std::optional<http::ImageHeader> header = http::read_image_header(page.payload);
    if (!header || header->format != "png" || header->width != page.width || header->height != page.height)
      finding(which + "'s payload is not a PNG of its size");
  }
  return 0;
}
