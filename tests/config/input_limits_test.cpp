// The `inputs:` block of a models.d file: defaults, overrides, and errors
// naming file, line and field.
#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"

using citadel::test::ConfigFixture;
using Lines = std::vector<std::string>;

TEST_CASE("inputs limits default, and a models.d file overrides them key by key", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("ocr", "name: ocr\n");
  fixture.write_model("plain.yaml", "plugin: ocr\n");
  fixture.write_model("strict.yaml", "plugin: ocr\ninputs:\n  max_pdf_pages: 3\n  max_image_side: 800\n");
  const auto configuration = fixture.load();
  const citadel::config::InputLimits defaults;
  CHECK(configuration.models.at("plain").inputs == defaults);
  const citadel::config::InputLimits& strict = configuration.models.at("strict").inputs;
  CHECK(strict.max_pdf_pages == 3);
  CHECK(strict.max_image_side == 800);
  CHECK(strict.max_image_pixels == defaults.max_image_pixels);
  CHECK(strict.max_pdf_dpi == defaults.max_pdf_dpi);
}

TEST_CASE("bad inputs limits are reported as file:line: field: what", "[config]") {
  ConfigFixture fixture;
  fixture.write_plugin("ocr", "name: ocr\n");
  fixture.write_model("ocr.yaml", "plugin: ocr\ninputs:\n  max_pdf_pages: 0\n  max_pdf_dpi: 9000\n  max_pages: 2\n");
  const std::string file = fixture.path("etc/models.d/ocr.yaml");
  CHECK(fixture.problems() ==
        Lines{file + ":3: inputs.max_pdf_pages: must be an integer between 1 and 100000 (got 0)",
              file + ":4: inputs.max_pdf_dpi: must be an integer between 18 and 2400 (got 9000)",
              file + ":5: inputs.max_pages: unknown key (expected one of: max_image_pixels, max_image_side, "
                     "max_pdf_pages, max_pdf_dpi)"});
}
