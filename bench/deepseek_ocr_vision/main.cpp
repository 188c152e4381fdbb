// bench_deepseek_ocr_vision: times DeepSeek-OCR's DeepEncoder (SAM-base +
// compressor + CLIP-L + projector, plus placeholder layout) on random weights
// of the released sizes (bf16 matrices, built in memory: no files), batch 1:
// images/s per resolution mode, and the split between SAM, CLIP and the
// projector for one view. The input is a generated page (text-like stripes),
// prepared as the plugin prepares it. Options:
//   --mode tiny|small|base|large|gundam   (default base; repeatable)
//   --iterations N                        (default 2; the first is a warm-up)
//   --threads N                           (default: all cores)
//   --tiny                                (the test checkpoint's small widths)
//   --cuda                                (the CUDA encoder on the current device)
//   --batch N                             (also N copies of the mode's global
//                                          view through one encode_views call:
//                                          images/s of the encoder at batch N)
// Wall time and process CPU time are both printed: on a shared machine the
// CPU time (divided by the threads) is the steadier figure. Figures are
// printed, never checked.
#include "deep_encoder.h"
#include "random_weights.h"

#include "runtime/core/thread_pool.h"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

using namespace citadel;
using namespace citadel::deepseek_ocr;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A 1240x1754 (A4 at 150 dpi) white page with dark "text" stripes.
DecodedImage synthetic_page() {
  DecodedImage page{1240, 1754, std::vector<uint8_t>(size_t{1240} * 1754 * 3, 255)};
  for (int y = 120; y < 1650; y += 36) {
    for (int x = 100; x < 1140; ++x) {
      if ((x / 9 + y / 36) % 7 == 0) continue;  // word gaps
      for (int dy = 0; dy < 18; ++dy) {
        uint8_t* p = &page.rgb[(static_cast<size_t>(y + dy) * 1240 + x) * 3];
        p[0] = p[1] = p[2] = static_cast<uint8_t>(20 + (x * 7 + dy * 13) % 60);
      }
    }
  }
  return page;
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<ResolutionMode> modes;
  int iterations = 2;
  int64_t batch = 0;
  unsigned threads = 0;
  bool tiny = false, use_cuda = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc) {
      modes.push_back(parse_resolution_mode(argv[++i]));
    } else if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max(2, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--tiny") {
      tiny = true;
    } else if (a == "--cuda") {
      use_cuda = true;
    } else if (a == "--batch" && i + 1 < argc) {
      batch = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--mode M]... [--iterations N] [--threads N] [--tiny] [--cuda] [--batch N]\n", argv[0]);
      return 2;
    }
  }
  if (modes.empty()) modes.push_back(ResolutionMode::base);
  EncoderSizes sizes;
  if (tiny) {
    sizes = EncoderSizes{32, 4, 2, 14, 64, {1, 3}, 16, 24, 32, 2, 2, 64, 16, 16};
  }
  runtime::ThreadPool pool(threads);
  const auto built = Clock::now();
  EncoderWeights weights = random_encoder_weights(sizes, runtime::DType::bf16, 1);
  auto encoder = use_cuda ? make_cuda_encoder(std::move(weights)) : make_cpu_encoder(std::move(weights), pool);
  std::printf("DeepEncoder %s, %s sizes, bf16 weights (f16 on CUDA), %u threads (weights built in %.1f s)\n",
              use_cuda ? "CUDA" : "CPU", tiny ? "tiny" : "released", pool.size(), seconds_since(built));
  const DecodedImage page = synthetic_page();
  for (const ResolutionMode mode : modes) {
    const PreparedImage image = prepare_image(page, mode);
    double total = 0.0, cpu_total = 0.0;
    for (int it = 0; it < iterations; ++it) {
      const auto start = Clock::now();
      const std::clock_t cpu_start = std::clock();
      const std::vector<float> embeddings = encoder->encode(image);
      const double s = seconds_since(start);
      const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
      if (it > 0) {  // the first call fills the position caches
        total += s;
        cpu_total += cpu;
      }
      if (embeddings.empty()) return 1;
    }
    const double per_image = total / (iterations - 1), cpu_per_image = cpu_total / (iterations - 1);
    std::printf("%-7s %d view(s) (%dx%d tiles), %lld tokens: %.3f s/image wall (%.4f images/s)",
                std::string(resolution_mode_name(mode)).c_str(), 1 + (image.grid.tiled() ? image.grid.count() : 0),
                image.grid.columns, image.grid.rows, static_cast<long long>(image.num_image_tokens), per_image,
                1.0 / per_image);
    if (use_cuda) {
      std::printf("\n");
    } else {
      std::printf(", %.3f CPU s/image (%.4f images/s if the %u threads had their cores)\n", cpu_per_image,
                  pool.size() / cpu_per_image, pool.size());
    }
    if (batch > 0) {
      // The encoder alone (no layout) on `batch` copies of the global view.
      std::vector<float> views;
      for (int64_t b = 0; b < batch; ++b)
        views.insert(views.end(), image.global_pixels.begin(), image.global_pixels.end());
      double batch_total = 0.0;
      for (int it = 0; it < iterations; ++it) {
        const auto start = Clock::now();
        const DeepEncoder::ViewFeatures features = encoder->encode_views(views.data(), batch, image.global_side);
        if (it > 0) batch_total += seconds_since(start);
        if (features.projected.empty()) return 1;
      }
      const double per_batch = batch_total / (iterations - 1);
      std::printf("%-7s global views at batch %lld: %.3f s/batch (%.4f images/s)\n",
                  std::string(resolution_mode_name(mode)).c_str(), static_cast<long long>(batch), per_batch,
                  static_cast<double>(batch) / per_batch);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_deepseek_ocr_vision: %s\n", e.what());
    return 1;
  }
}
