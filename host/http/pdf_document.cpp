// PDF pages through poppler-cpp; PNG encoding through stb_image_write. A
// build without poppler (CITADEL_PDF=OFF) refuses every PDF with a 400.
#include "host/http/pdf_document.h"

#include "host/http/api_error.h"

#if defined(CITADEL_HAVE_PDF)

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-image.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>
#include <spdlog/spdlog.h>
#include <stb_image_write.h>

#include <climits>
#include <cmath>
#include <mutex>

namespace citadel::http {

namespace {

// poppler prints its complaints about damaged files to stderr; they go to
// the debug log instead (the client gets the 400).
void quiet_poppler() {
  static std::once_flag once;
  std::call_once(once, [] {
    poppler::set_debug_error_function(
        [](const std::string& message, void*) { spdlog::debug("poppler: {}", message); }, nullptr);
  });
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

PdfDocument::PdfDocument(std::span<const uint8_t> bytes, std::string field)
    : bytes_(bytes.begin(), bytes.end()), field_(std::move(field)) {
  quiet_poppler();
  if (bytes_.size() > static_cast<size_t>(INT_MAX))
    throw bad_request("'" + field_ + "' is a PDF larger than poppler reads (2 GiB)", field_);
  document_.reset(poppler::document::load_from_raw_data(bytes_.data(), static_cast<int>(bytes_.size())));
  if (!document_)
    throw bad_request("'" + field_ + "' is a damaged PDF that cannot be read", field_, "invalid_pdf");
  if (document_->is_locked())
    throw bad_request("'" + field_ + "' is an encrypted PDF (remove the password first)", field_, "invalid_pdf");
  const int pages = document_->pages();
  if (pages <= 0) throw bad_request("'" + field_ + "' is a PDF without pages", field_, "invalid_pdf");
  page_count_ = static_cast<uint32_t>(pages);
}

PdfDocument::~PdfDocument() = default;

PdfDocument::PageSize PdfDocument::page_size(uint32_t index) const {
  std::unique_ptr<poppler::page> page(document_->create_page(static_cast<int>(index)));
  if (!page)
    throw bad_request("'" + field_ + "' page " + std::to_string(index + 1) + " cannot be read", field_,
                      "invalid_pdf");
  const poppler::rectf box = page->page_rect(poppler::crop_box);
  PageSize size{std::abs(box.width()), std::abs(box.height())};
  const poppler::page::orientation_enum turn = page->orientation();
  if (turn == poppler::page::landscape || turn == poppler::page::seascape)
    std::swap(size.width_pt, size.height_pt);
  return size;
}

PdfDocument::RenderedPage PdfDocument::render_png(uint32_t index, double dpi) const {
  const std::string which = "'" + field_ + "' page " + std::to_string(index + 1);
  std::unique_ptr<poppler::page> page(document_->create_page(static_cast<int>(index)));
  if (!page) throw bad_request(which + " cannot be read", field_, "invalid_pdf");
  poppler::page_renderer renderer;
  renderer.set_render_hint(poppler::page_renderer::antialiasing);
  renderer.set_render_hint(poppler::page_renderer::text_antialiasing);
  renderer.set_image_format(poppler::image::format_rgb24);
  const poppler::image image = renderer.render_page(page.get(), dpi, dpi);
  if (!image.is_valid() || image.width() <= 0 || image.height() <= 0)
    throw bad_request(which + " cannot be rendered", field_, "invalid_pdf");
  RenderedPage rendered;
  rendered.width = static_cast<uint32_t>(image.width());
  rendered.height = static_cast<uint32_t>(image.height());
  if (stbi_write_png_to_func(append_bytes, &rendered.png, image.width(), image.height(), 3, image.const_data(),
                             image.bytes_per_row()) == 0)
    throw internal_error("encoding " + which + " as PNG failed", "render_failed");
  return rendered;
}

}  // namespace citadel::http

#else  // CITADEL_PDF=OFF

namespace poppler {
class document {};
}  // namespace poppler

namespace citadel::http {

PdfDocument::PdfDocument(std::span<const uint8_t>, std::string field) : field_(std::move(field)) {
  throw bad_request("'" + field_ + "' is a PDF, and this build of citadel reads no PDFs (built with "
                    "-DCITADEL_PDF=OFF, without poppler); send the pages as images",
                    field_, "unsupported_document");
}

PdfDocument::~PdfDocument() = default;

// Never reached: the constructor throws.
PdfDocument::PageSize PdfDocument::page_size(uint32_t) const { return {}; }

PdfDocument::RenderedPage PdfDocument::render_png(uint32_t, double) const { return {}; }

}  // namespace citadel::http

#endif
