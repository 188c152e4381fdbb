// bench_ocr_pages: time per page of PDF page preparation for /v1/ocr
// (poppler render at the mode's resolution + PNG encode + the limit checks)
// for a generated A4 document of text lines, on one thread and on the
// default thread count (half the hardware threads, 1 to 8). Prints one row
// per mode and thread count; nothing passes or fails on time.
//
//   bench_ocr_pages [--pages N] [--threads T]   (default 8 pages; T: the default count)
#include "host/http/ocr_pages.h"

#include "bench_flags.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// An A4 PDF of `pages` pages, each 60 lines of 10-point Helvetica.
std::vector<uint8_t> text_pdf(int pages) {
  std::vector<std::string> objects{"<< /Type /Catalog /Pages 2 0 R >>", ""};
  std::string kids;
  const int font = 3 + 2 * pages;
  for (int page = 0; page < pages; ++page) {
    std::string content = "BT /F1 10 Tf 12 TL 50 800 Td";
    for (int line = 0; line < 60; ++line)
      content += " (Line " + std::to_string(line) + " of page " + std::to_string(page + 1) +
                 ": the quick brown fox jumps over the lazy dog 0123456789) '";
    content += " ET";
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream");
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents " +
                      std::to_string(objects.size()) + " 0 R /Resources << /Font << /F1 " + std::to_string(font) +
                      " 0 R >> >> >>");
    kids += std::to_string(objects.size()) + " 0 R ";
  }
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>";
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char entry[32];
    std::snprintf(entry, sizeof(entry), "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return {pdf.begin(), pdf.end()};
}

}  // namespace

int main(int argc, char** argv) {
  int pages = 0;
  unsigned threads_asked = 0;
  try {
    const citadel::bench::BenchFlags flags(argc, argv);
    pages = static_cast<int>(flags.integer("--pages", 8));
    threads_asked = static_cast<unsigned>(flags.integer("--threads", 0));
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 2;
  }
  const std::vector<uint8_t> pdf = text_pdf(pages);
  citadel::config::InputLimits limits;
  limits.max_pdf_pages = static_cast<uint32_t>(pages);
  std::printf("A4 text pages, %d per run\n", pages);
  std::printf("%-8s %8s %12s %8s %12s %12s\n", "mode", "threads", "pixels", "dpi", "ms/page", "PNG KiB/page");
  for (const char* mode : {"tiny", "small", "base", "large", "gundam"})
    for (unsigned threads : {1u, threads_asked}) {
      citadel::http::OcrOptions options;
      options.mode = mode;
      const auto start = std::chrono::steady_clock::now();
      const std::vector<citadel::http::OcrPage> rendered =
          citadel::http::prepare_ocr_pages(pdf, "file", options, limits, true, threads);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      size_t bytes = 0;
      for (const auto& page : rendered) bytes += page.payload.size();
      const std::string size = std::to_string(rendered[0].width) + "x" + std::to_string(rendered[0].height);
      std::printf("%-8s %8s %12s %8.1f %12.1f %12.1f\n", mode, threads == 0 ? "default" : std::to_string(threads).c_str(), size.c_str(),
                  rendered[0].dpi, 1000 * seconds / pages, bytes / 1024.0 / pages);
    }
  return 0;
}
