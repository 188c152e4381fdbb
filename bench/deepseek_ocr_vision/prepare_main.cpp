// bench_deepseek_ocr_prepare: times what the deepseek-ocr plugin does to a
// page before the encoder (vision/deep_encoder.h): decode_image (PNG, JPEG,
// WebP, ...), plan_image (grid, placeholder count, SHA-256 content hash:
// request_open's share with the decode), then prepare_image from the decoded
// pixels (the mode's resize / pad / tiles, normalisation to f32 CHW: the
// preparation thread's share with another decode). On the CPU, one thread,
// as the plugin runs it. The pages are files, e.g. bench/ocr_pages/ocr_load.py's
// generated A4 pages:
//   python3 -c "import sys; sys.path.insert(0, 'bench/ocr_pages'); import ocr_load;
//               open('/tmp/page.png', 'wb').write(ocr_load.page(0))"   (one line)
//   bench_deepseek_ocr_prepare /tmp/page.png [--mode base] [--iterations 10]
// Prints the median ms of each part; never checks a figure.
#include "deep_encoder.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

using namespace citadel::deepseek_ocr;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int run(int argc, char** argv) {
  std::vector<std::string> files;
  std::vector<ResolutionMode> modes;
  int iterations = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc) {
      modes.push_back(parse_resolution_mode(argv[++i]));
    } else if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
    } else if (!a.empty() && a[0] != '-') {
      files.push_back(a);
    } else {
      std::fprintf(stderr, "usage: %s FILE... [--mode M]... [--iterations N]\n", argv[0]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s FILE... [--mode M]... [--iterations N]\n", argv[0]);
    return 2;
  }
  if (modes.empty()) modes.push_back(ResolutionMode::base);
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const ResolutionMode mode : modes) {
      std::vector<double> decode_ms, plan_ms, prepare_ms;
      PreparedImage image;
      DecodedImage decoded;
      for (int it = 0; it < iterations; ++it) {
        auto start = Clock::now();
        decoded = decode_image(bytes);
        decode_ms.push_back(ms_since(start));
        start = Clock::now();
        const ImagePlan plan = plan_image(decoded, mode);
        plan_ms.push_back(ms_since(start));
        if (plan.num_image_tokens <= 0) return 1;
        start = Clock::now();
        image = prepare_image(decoded, mode);
        prepare_ms.push_back(ms_since(start));
      }
      const double pixels_mb =
          static_cast<double>(image.global_pixels.size() + image.tile_pixels.size()) * sizeof(float) / 1e6;
      std::printf("%s (%d bytes, %dx%d) %s: decode %.2f ms, plan (hash) %.2f ms, prepare (views + hash) %.2f ms "
                  "(medians of %d); %lld tokens, prepared pixels %.1f MB as f32\n",
                  file.c_str(), static_cast<int>(bytes.size()), decoded.width, decoded.height,
                  std::string(resolution_mode_name(mode)).c_str(), median(decode_ms), median(plan_ms),
                  median(prepare_ms), iterations, static_cast<long long>(image.num_image_tokens), pixels_mb);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_deepseek_ocr_prepare: %s\n", e.what());
    return 1;
  }
}
