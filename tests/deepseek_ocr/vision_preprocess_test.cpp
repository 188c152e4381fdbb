// deepseek-ocr preprocessing against the reference fixtures: for every case
// in tests/data/deepseek-ocr, the tile grid and placeholder count equal
// index.json, and the global view and tiles equal the views Pillow made
// (global.png, tile_NN.png) pixel for pixel; modes parse with clear errors.
#include <catch2/catch.hpp>

#include "deep_encoder.h"
#include "deepseek_ocr/ocr_fixtures.hpp"

#include <cstdio>
#include <string>

using namespace citadel::deepseek_ocr;
using namespace citadel::test::ocr;
using Catch::Matchers::Contains;

namespace {

// Largest |ours - reference| over a view, the reference being the PNG view
// normalised as the reference does ((v/255 - 0.5)/0.5).
double view_difference(const float* ours, const std::filesystem::path& png, int side) {
  const DecodedImage view = decode_image(read_bytes(png));
  REQUIRE(view.width == side);
  REQUIRE(view.height == side);
  const size_t plane = static_cast<size_t>(side) * side;
  double worst = 0.0;
  for (size_t i = 0; i < plane; ++i) {
    for (size_t c = 0; c < 3; ++c) {
      const float ref = (static_cast<float>(view.rgb[i * 3 + c]) / 255.0f - 0.5f) / 0.5f;
      worst = std::max(worst, std::abs(static_cast<double>(ours[c * plane + i]) - ref));
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("deepseek-ocr preprocessing reproduces every reference case", "[deepseek-ocr]") {
  const auto cases = fixture_cases();
  REQUIRE(cases.size() == 16);
  for (const FixtureCase& c : cases) {
    INFO("case " << c.name);
    const ResolutionMode mode = parse_resolution_mode(c.mode);
    const PreparedImage image = prepare_image(read_bytes(data_dir() / c.image), mode);
    CHECK(image.source_width == c.width);
    CHECK(image.source_height == c.height);
    CHECK(image.grid.columns == c.grid_columns);
    CHECK(image.grid.rows == c.grid_rows);
    CHECK(image.num_image_tokens == c.image_tokens);
    CHECK(num_image_tokens(mode, c.width, c.height) == c.image_tokens);
    const auto dir = data_dir() / "cases" / c.name;
    // Pillow's fixed-point bicubic reproduced exactly: no pixel differs.
    CHECK(view_difference(image.global_pixels.data(), dir / "global.png", image.global_side) == 0.0);
    REQUIRE(static_cast<int>(image.tile_pixels.size()) == c.tiles * 3 * image.tile_side * image.tile_side);
    for (int t = 0; t < c.tiles; ++t) {
      char name[32];
      std::snprintf(name, sizeof name, "tile_%02d.png", t);
      INFO("tile " << name);
      CHECK(view_difference(image.tile_pixels.data() + static_cast<size_t>(t) * 3 * image.tile_side * image.tile_side,
                            dir / name, image.tile_side) == 0.0);
    }
  }
}

TEST_CASE("deepseek-ocr token counts and tile grids follow the published formulas", "[deepseek-ocr]") {
  CHECK(num_image_tokens(ResolutionMode::tiny, 3000, 100) == 73);
  CHECK(num_image_tokens(ResolutionMode::small, 100, 3000) == 111);
  CHECK(num_image_tokens(ResolutionMode::base, 800, 600) == 273);
  CHECK(num_image_tokens(ResolutionMode::large, 800, 600) == 421);
  // Gundam: no tiles up to 640 a side; 3x2 tiles give 273 + 20 * 31 = 893.
  CHECK(num_image_tokens(ResolutionMode::gundam, 640, 640) == 273);
  CHECK(tile_grid(ResolutionMode::gundam, 1920, 1280).columns == 3);
  CHECK(tile_grid(ResolutionMode::gundam, 1920, 1280).rows == 2);
  CHECK(num_image_tokens(ResolutionMode::gundam, 1920, 1280) == 893);
  // MAX_CROPS 6 by default; the HF infer() limit of 9 allows 3x3.
  CHECK(tile_grid(ResolutionMode::gundam, 2000, 2000).count() == 4);
  CHECK(tile_grid(ResolutionMode::gundam, 2000, 2000, 9).count() == 9);
  CHECK(!tile_grid(ResolutionMode::base, 4000, 1000).tiled());
}

TEST_CASE("deepseek-ocr resolution modes parse by name and reject others by name", "[deepseek-ocr]") {
  for (const char* name : {"tiny", "small", "base", "large", "gundam"}) {
    CHECK(resolution_mode_name(parse_resolution_mode(name)) == name);
  }
  CHECK(global_view_side(ResolutionMode::gundam) == 1024);
  CHECK(tile_side(ResolutionMode::gundam) == 640);
  CHECK_THROWS_WITH(parse_resolution_mode("huge"), Contains("\"huge\"") && Contains("gundam"));
  CHECK_THROWS_AS(parse_resolution_mode("Base"), ImageInputError);
}
