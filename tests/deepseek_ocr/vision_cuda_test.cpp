// [cuda] The CUDA DeepEncoder against the CPU DeepEncoder and the reference
// on the tiny checkpoint: SAM, CLIP and projected features and the laid-out
// placeholder embeddings of every fixture case (all modes, Gundam with 2, 4
// and 6 tiles) within 1e-2 relative error (f16 GEMM inputs). The encoder
// used from the plugin's encoder thread (image_preparer.h; its own stream,
// the device made current there) gives the rows it gives on the thread that
// loaded it.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "deep_encoder.h"
#include "deepseek_ocr/ocr_fixtures.hpp"
#include "image_preparer.h"

#include <atomic>
#include <chrono>
#include <thread>

using namespace citadel::deepseek_ocr;
using namespace citadel::test::ocr;

TEST_CASE("deepseek-ocr CUDA DeepEncoder matches the CPU encoder and the reference", "[deepseek-ocr][cuda]") {
  citadel::runtime::ThreadPool pool(2);
  const auto cpu = DeepEncoder::load_cpu(data_dir() / "model", pool);
  const auto gpu = DeepEncoder::load_cuda(data_dir() / "model", pool);
  REQUIRE(gpu->lm_hidden() == cpu->lm_hidden());
  for (const FixtureCase& c : fixture_cases()) {
    INFO("case " << c.name);
    const PreparedImage image = prepare_image(read_bytes(data_dir() / c.image), parse_resolution_mode(c.mode));
    const auto want = cpu->encode_views(image.global_pixels.data(), 1, image.global_side);
    const auto got = gpu->encode_views(image.global_pixels.data(), 1, image.global_side);
    CHECK(relative_error(got.sam, want.sam) < 1e-2);
    CHECK(relative_error(got.clip, want.clip) < 1e-2);
    CHECK(relative_error(got.projected, want.projected) < 1e-2);
    const std::vector<float> embeddings = gpu->encode(image);
    CHECK(relative_error(embeddings, cpu->encode(image)) < 1e-2);
    CHECK(relative_error(embeddings, reference_tensor(c.name, "image_embeddings")) < 1e-2);
  }
}

TEST_CASE("deepseek-ocr CUDA DeepEncoder on the preparer's encoder thread gives the loading thread's rows",
          "[deepseek-ocr][cuda]") {
  citadel::runtime::ThreadPool pool(2);
  const auto gpu = DeepEncoder::load_cuda(data_dir() / "model", pool);
  std::atomic<int> encoded{0};
  std::atomic<std::thread::id> encoded_on{};
  ImagePreparer preparer(size_t{256} << 20, {}, [&](const PreparedImage& image) {
    ++encoded;
    encoded_on = std::this_thread::get_id();
    return gpu->encode(image);
  });
  for (const FixtureCase& c : fixture_cases()) {
    INFO("case " << c.name);
    const std::vector<uint8_t> bytes = read_bytes(data_dir() / c.image);
    const ResolutionMode mode = parse_resolution_mode(c.mode);
    const PreparedImage image = prepare_image(bytes, mode);
    const std::vector<float> want = gpu->encode(image);
    const int before = encoded;
    ImagePreparer::Ticket ticket = preparer.submit(ImageSource{bytes, mode, {}, kDefaultMaxCrops, 0});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (encoded == before || preparer.held_bytes() != want.size() * sizeof(float)) {
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(encoded_on.load() != std::this_thread::get_id());
    ImagePreparer::Taken taken = ImagePreparer::take(ticket);
    REQUIRE(taken.encoded);
    CHECK_FALSE(taken.encoded_by_caller);
    CHECK(taken.image.content_hash == image.content_hash);
    REQUIRE(taken.rows.size() == want.size());
    CHECK(relative_error(taken.rows, want) < 1e-6);  // the same kernels on the same stream
  }
}
#endif  // CITADEL_HAVE_CUDA
