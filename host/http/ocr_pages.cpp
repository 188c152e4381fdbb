// Images and PDF pages into checked payloads (see ocr_pages.h for the rules).
#include "host/http/ocr_pages.h"

#include "host/http/api_error.h"
#include "host/http/image_header.h"
#include "host/http/pdf_document.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>

namespace citadel::http {

namespace {

double mode_long_side(const std::optional<std::string>& mode) {
  if (!mode) return 1920;
  if (*mode == "tiny") return 512;
  if (*mode == "small") return 640;
  if (*mode == "base") return 1024;
  if (*mode == "large") return 1280;
  return 1920;  // gundam
}

unsigned default_render_threads() { return std::clamp(std::thread::hardware_concurrency() / 2, 1u, 8u); }

// Renders the pages, page i on thread i % threads; each extra thread opens
// its own poppler document (one document is never used by two threads).
std::vector<OcrPage> render_pages(std::span<const uint8_t> document, const std::string& field,
                                  const PdfDocument& opened, const std::vector<uint32_t>& indexes,
                                  const std::vector<double>& dpis, const config::InputLimits& limits,
                                  unsigned render_threads) {
  const size_t threads = std::min<size_t>(indexes.size(), render_threads == 0 ? default_render_threads() : render_threads);
  std::vector<OcrPage> pages(indexes.size());
  std::vector<std::exception_ptr> errors(threads);
  auto render_share = [&](size_t thread, const PdfDocument& pdf) {
    for (size_t i = thread; i < indexes.size(); i += threads) {
      PdfDocument::RenderedPage rendered = pdf.render_png(indexes[i], dpis[i]);
      check_image_dimensions(rendered.width, rendered.height, limits,
                             "page " + std::to_string(indexes[i] + 1) + " as rendered", field);
      pages[i] = OcrPage{indexes[i] + 1, rendered.width, rendered.height, dpis[i], std::move(rendered.png)};
    }
  };
  std::vector<std::thread> workers;
  for (size_t thread = 1; thread < threads; ++thread)
    workers.emplace_back([&, thread] {
      try {
        const PdfDocument own(document, field);
        render_share(thread, own);
      } catch (...) {
        errors[thread] = std::current_exception();
      }
    });
  try {
    render_share(0, opened);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& worker : workers) worker.join();
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  return pages;
}

std::vector<OcrPage> pdf_pages(std::span<const uint8_t> document, const std::string& field,
                               const OcrOptions& options, const config::InputLimits& limits,
                               unsigned render_threads) {
  const PdfDocument pdf(document, field);
  const uint32_t count = pdf.page_count();
  if (options.first_page > count)
    throw bad_request("'first_page' is " + std::to_string(options.first_page) + " but '" + field + "' has " +
                          std::to_string(count) + " page" + (count == 1 ? "" : "s"),
                      "first_page");
  const uint32_t last = std::min(options.last_page.value_or(count), count);
  uint32_t selected = last - options.first_page + 1;
  if (options.max_pages) selected = std::min(selected, *options.max_pages);
  if (selected > limits.max_pdf_pages)
    throw bad_request("'" + field + "' asks for " + std::to_string(selected) + " pages; this model reads at most " +
                          std::to_string(limits.max_pdf_pages) +
                          " per request (choose pages with first_page, last_page or max_pages)",
                      field, "too_many_pages");
  std::vector<uint32_t> indexes;
  for (uint32_t number = options.first_page; number < options.first_page + selected; ++number)
    indexes.push_back(number - 1);
  std::vector<double> dpis;
  for (uint32_t index : indexes) {  // every page checked before any is rendered
    const PdfDocument::PageSize size = pdf.page_size(index);
    const double dpi = pdf_render_dpi(size.width_pt, size.height_pt, options.mode, limits.max_pdf_dpi);
    const double width = std::ceil(size.width_pt * dpi / 72.0);
    const double height = std::ceil(size.height_pt * dpi / 72.0);
    const std::string what = "page " + std::to_string(index + 1);
    if (!(width >= 1 && height >= 1))
      throw bad_request("'" + field + "' " + what + " has no area", field, "invalid_pdf");
    check_image_dimensions(static_cast<uint32_t>(std::min(width, 4e9)), static_cast<uint32_t>(std::min(height, 4e9)),
                           limits, what + " rendered at " + std::to_string(static_cast<int>(dpi)) + " dpi", field);
    dpis.push_back(dpi);
  }
  return render_pages(document, field, pdf, indexes, dpis, limits, render_threads);
}

}  // namespace

double pdf_render_dpi(double width_pt, double height_pt, const std::optional<std::string>& mode,
                      uint32_t max_dpi) {
  const double longer = std::max(width_pt, height_pt);
  if (!(longer > 0)) return max_dpi;
  return std::min(72.0 * mode_long_side(mode) / longer, static_cast<double>(max_dpi));
}

void check_image_dimensions(uint32_t width, uint32_t height, const config::InputLimits& limits,
                            const std::string& what, const std::string& field) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (width > limits.max_image_side || height > limits.max_image_side)
    throw bad_request("'" + field + "' " + what + " is " + size + " pixels; a side may be at most " +
                          std::to_string(limits.max_image_side),
                      field, "image_too_large");
  if (static_cast<uint64_t>(width) * height > limits.max_image_pixels)
    throw bad_request("'" + field + "' " + what + " is " + size + " pixels; at most " +
                          std::to_string(limits.max_image_pixels) + " pixels are allowed",
                      field, "image_too_large");
}

std::vector<OcrPage> prepare_ocr_pages(std::vector<uint8_t> document, const std::string& field,
                                       const OcrOptions& options, const config::InputLimits& limits,
                                       bool allow_pdf, unsigned render_threads) {
  if (looks_like_pdf(document)) {
    if (!allow_pdf)
      throw bad_request("'" + field + "' is a PDF; send PDFs to /v1/ocr (this endpoint reads one image)", field,
                        "unsupported_document");
    return pdf_pages(document, field, options, limits, render_threads);
  }
  const std::optional<ImageHeader> header = read_image_header(document);
  if (!header)
    throw bad_request("'" + field + "' is not an image this server reads (PNG, JPEG, WebP, GIF, BMP, ...) " +
                          (allow_pdf ? "nor a PDF " : "") + "(or its header is damaged)",
                      field, "invalid_image");
  check_image_dimensions(header->width, header->height, limits, "(a " + header->format + " image)", field);
  std::vector<OcrPage> pages;
  pages.push_back(OcrPage{1, header->width, header->height, 0, std::move(document)});
  return pages;
}

}  // namespace citadel::http
