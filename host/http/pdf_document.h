// PdfDocument: one uploaded PDF opened with poppler (Debian's
// libpoppler-cpp): its page count, each page's size in points (read from
// the page dictionary, nothing rendered), and a page rendered at a given
// resolution and encoded as PNG (stb_image_write), the payload an
// image_to_text plugin is sent for that page.
//
// Used by ocr_pages.cpp. Errors are ApiError 400 naming `field` (not a PDF,
// damaged, encrypted, a page poppler cannot render). Not thread-safe; one
// document per request.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace poppler {
class document;
}

namespace citadel::http {

class PdfDocument {
 public:
  PdfDocument(std::span<const uint8_t> bytes, std::string field);
  ~PdfDocument();
  PdfDocument(const PdfDocument&) = delete;
  PdfDocument& operator=(const PdfDocument&) = delete;

  uint32_t page_count() const { return page_count_; }

  // Width and height in points (1/72 inch) of page `index` (0-based) as it is
  // displayed: its crop box, turned by its /Rotate.
  struct PageSize {
    double width_pt = 0;
    double height_pt = 0;
  };
  PageSize page_size(uint32_t index) const;

  struct RenderedPage {
    std::vector<uint8_t> png;
    uint32_t width = 0;
    uint32_t height = 0;
  };
  RenderedPage render_png(uint32_t index, double dpi) const;

 private:
  std::vector<char> bytes_;  // poppler reads from here for the document's lifetime
  std::string field_;
  std::unique_ptr<poppler::document> document_;
  uint32_t page_count_ = 0;
};

}  // namespace citadel::http
