// [cuda] The CUDA DeepEncoder against the CPU DeepEncoder and the reference
// on the tiny checkpoint: SAM, CLIP and projected features and the laid-out
// placeholder embeddings of every fixture case (all modes, Gundam with 2, 4
// and 6 tiles) within 1e-2 relative error (f16 GEMM inputs).
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "deep_encoder.h"
#include "deepseek_ocr/ocr_fixtures.hpp"

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
#endif  // CITADEL_HAVE_CUDA
