// InputLimits: the `inputs:` block of a models.d file, the limits on the
// images and PDFs that a model of task image_to_text is sent. The HTTP server
// checks them (host/http/ocr_pages.cpp) from the declared dimensions, before
// anything is decoded or rendered, so a decompression bomb costs nothing.
//
// Read by host/config/settings_readers.cpp; carried to the HTTP server in
// sched::ModelListing. Plain data.
#pragma once

#include <cstdint>

namespace citadel::config {

struct InputLimits {
  uint64_t max_image_pixels = 25'000'000;  // width x height of an image or a rendered PDF page
  uint32_t max_image_side = 16384;         // pixels, either side
  uint32_t max_pdf_pages = 64;             // pages one request may select
  uint32_t max_pdf_dpi = 300;              // ceiling of the rendering resolution
  bool operator==(const InputLimits&) const = default;
};

}  // namespace citadel::config
