// The pages of one OCR request: an image is one page, sent as uploaded; a
// PDF is rendered page by page (pdf_document.h) at a resolution chosen from
// the request's mode, each page its own payload, so the scheduler batches
// the pages of a document like separate requests. Every limit of the
// model's `inputs:` block is checked from declared sizes before anything is
// decoded or rendered.
//
// DPI rule: a page is rendered so that its longer side comes to the mode's
// size (tiny 512, small 640, base 1024, large 1280 pixels; gundam and no
// mode 1920, three of gundam's 640-pixel tiles), dpi = 72 * size / longer
// side in points, at most inputs.max_pdf_dpi.
//
// Called by ocr_submission.cpp (for both endpoints) and the [http] tests.
// Errors are ApiError 400 naming the field the document came in.
#pragma once

#include "host/config/input_limits.h"
#include "host/http/ocr_request.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace citadel::http {

struct OcrPage {
  uint32_t number = 1;  // 1-based page of the PDF; 1 for an image
  uint32_t width = 0;   // pixels of the payload image
  uint32_t height = 0;
  double dpi = 0;       // PDFs: the rendering resolution; 0 for an image
  std::vector<uint8_t> payload;
};

// The rendering resolution of a page of the given size for a mode.
double pdf_render_dpi(double width_pt, double height_pt, const std::optional<std::string>& mode,
                      uint32_t max_dpi);

// Throws a 400 naming `field` unless `what` (width x height) is within the limits.
void check_image_dimensions(uint32_t width, uint32_t height, const config::InputLimits& limits,
                            const std::string& what, const std::string& field);

// Every page the request asks for, checked and ready to submit, in page
// order. PDFs need allow_pdf (the chat endpoint reads images only); their
// pages are rendered on up to `render_threads` threads, each with its own
// poppler document (0: half the hardware threads, 1 to 8).
std::vector<OcrPage> prepare_ocr_pages(std::vector<uint8_t> document, const std::string& field,
                                       const OcrOptions& options, const config::InputLimits& limits,
                                       bool allow_pdf = true, unsigned render_threads = 0);

}  // namespace citadel::http
