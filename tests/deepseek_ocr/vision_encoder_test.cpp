// The CPU DeepEncoder against the reference (tools/deepseek_ocr) on the tiny
// bf16 checkpoint: for every case in tests/data/deepseek-ocr (all modes,
// Gundam with 2, 4 and 6 tiles; 6 of them in the sanitizer builds, see
// ocr_case_in_this_build) the SAM, CLIP and projected features of the
// global view and the tiles, and the laid-out placeholder embeddings, within
// 1e-2 relative error (max |ours - ref| / max |ref|); and the load-time
// layout checks name the tensor.
#include <catch2/catch.hpp>

#include "deep_encoder.h"
#include "deepseek_ocr/ocr_fixtures.hpp"
#include "deepseek_ocr/ocr_reference.hpp"
#include "runtime/formats/safetensors.h"

#include <map>

using namespace citadel::deepseek_ocr;
using namespace citadel::test::ocr;
using citadel::runtime::SafetensorsFile;
using citadel::runtime::Tensor;
using citadel::runtime::ThreadPool;
using Catch::Matchers::Contains;

namespace {

constexpr double kTolerance = 1e-2;

}  // namespace

TEST_CASE("deepseek-ocr DeepEncoder matches the reference features for every case", "[deepseek-ocr]") {
  ThreadPool pool(2);
  const auto encoder = DeepEncoder::load_cpu(data_dir() / "model", pool);
  REQUIRE(encoder->lm_hidden() == 16);
  const auto cases = fixture_cases();
  REQUIRE(cases.size() == 16);
  int tiled_cases = 0;
  int checked_cases = 0;
  for (const FixtureCase& c : cases) {
    if (!citadel::test::ocr_case_in_this_build(c.name)) continue;
    ++checked_cases;
    INFO("case " << c.name);
    const PreparedImage image = prepare_image(read_bytes(data_dir() / c.image), parse_resolution_mode(c.mode));
    const auto global = encoder->encode_views(image.global_pixels.data(), 1, image.global_side);
    CHECK(relative_error(global.sam, reference_tensor(c.name, "global.sam")) < kTolerance);
    CHECK(relative_error(global.clip, reference_tensor(c.name, "global.clip")) < kTolerance);
    CHECK(relative_error(global.projected, reference_tensor(c.name, "global.projected")) < kTolerance);
    if (image.grid.tiled()) {
      ++tiled_cases;
      const auto tiles = encoder->encode_views(image.tile_pixels.data(), image.grid.count(), image.tile_side);
      CHECK(tiles.views == c.tiles);
      CHECK(relative_error(tiles.sam, reference_tensor(c.name, "tiles.sam")) < kTolerance);
      CHECK(relative_error(tiles.clip, reference_tensor(c.name, "tiles.clip")) < kTolerance);
      CHECK(relative_error(tiles.projected, reference_tensor(c.name, "tiles.projected")) < kTolerance);
    }
    const std::vector<float> embeddings = encoder->encode(image);
    CHECK(static_cast<int64_t>(embeddings.size()) == c.image_tokens * encoder->lm_hidden());
    const double error = relative_error(embeddings, reference_tensor(c.name, "image_embeddings"));
    CHECK(error < kTolerance);
  }
#ifdef CITADEL_SANITIZED_BUILD
  CHECK(checked_cases == 6);
  CHECK(tiled_cases == 1);
#else
  CHECK(checked_cases == 16);
  CHECK(tiled_cases == 3);
#endif
}

TEST_CASE("deepseek-ocr DeepEncoder places image_newline and view_seperator as the reference", "[deepseek-ocr]") {
  // wide-gundam: 2x1 tiles of 10x10 then the 16x16 global map.
  ThreadPool pool(2);
  const auto encoder = DeepEncoder::load_cpu(data_dir() / "model", pool);
  const SafetensorsFile model(data_dir() / "model/model.safetensors");
  const Tensor newline = model.tensor("model.image_newline").to_f32();
  const Tensor separator = model.tensor("model.view_seperator").to_f32();
  const PreparedImage image = prepare_image(read_bytes(data_dir() / "images/wide.png"), ResolutionMode::gundam);
  REQUIRE(image.grid.columns == 2);
  REQUIRE(image.grid.rows == 1);
  const std::vector<float> e = encoder->encode(image);
  const int64_t h = encoder->lm_hidden();
  auto row_equals = [&](int64_t row, const Tensor& t) {
    return std::equal(e.begin() + row * h, e.begin() + (row + 1) * h, t.data_as<float>());
  };
  // Tile rows are 20 tokens + newline (rows 20, 41, ...); global rows start at 210.
  for (int64_t r = 0; r < 10; ++r) CHECK(row_equals(r * 21 + 20, newline));
  CHECK_FALSE(row_equals(19, newline));
  for (int64_t r = 0; r < 16; ++r) CHECK(row_equals(210 + r * 17 + 16, newline));
  CHECK(row_equals(image.num_image_tokens - 1, separator));
  PreparedImage broken = image;
  broken.tile_pixels.pop_back();
  CHECK_THROWS_WITH(encoder->encode(broken), Contains("pixel buffers"));
}

TEST_CASE("deepseek-ocr DeepEncoder load names a missing or misshapen tensor", "[deepseek-ocr]") {
  citadel::test::TempDir dir;
  ThreadPool pool(1);
  const SafetensorsFile model(data_dir() / "model/model.safetensors");
  auto write_without = [&](const std::string& skip, const std::string& reshape) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& name : model.names()) {
      if (name == skip) continue;
      Tensor t = model.tensor(name);
      if (name == reshape) t = t.reshaped({t.numel()});
      tensors.emplace_back(name, t);
    }
    citadel::runtime::write_safetensors(dir.path() / "model.safetensors", tensors);
  };
  std::filesystem::copy_file(data_dir() / "model/config.json", dir.path() / "config.json");
  write_without("model.sam_model.blocks.2.attn.proj.weight", "");
  CHECK_THROWS_WITH(DeepEncoder::load_cpu(dir.path(), pool),
                    Contains("model.sam_model.blocks.2.attn.proj.weight") && Contains("missing"));
  write_without("", "model.vision_model.transformer.layers.1.mlp.fc2.weight");
  CHECK_THROWS_WITH(DeepEncoder::load_cpu(dir.path(), pool),
                    Contains("model.vision_model.transformer.layers.1.mlp.fc2.weight") && Contains("shape"));
  write_without("model.view_seperator", "");
  CHECK_THROWS_WITH(DeepEncoder::load_cpu(dir.path(), pool), Contains("model.view_seperator"));
}
