// The deepseek-ocr request side without a model: input JSON parsing (defaults
// from the options, errors naming the field), plugin options, and the prompt
// layout around the placeholder run with the committed tokenizer.
#include "deepseek_ocr/ocr_reference.hpp"

#include "ocr_input.h"
#include "ocr_options.h"
#include "prompt_layout.h"

#include "runtime/text/tokenizer.h"

#include <catch2/catch.hpp>

using namespace citadel;
using deepseek_ocr::OcrInput;
using deepseek_ocr::OcrOptions;
using deepseek_ocr::ResolutionMode;

TEST_CASE("OCR request input takes the options' defaults and names bad fields", "[deepseek-ocr]") {
  const OcrOptions options = OcrOptions::parse(boost::json::parse(R"({"default_mode": "base",
      "default_prompt": "<image>\nFree OCR.", "ngram_size": 20, "ngram_window": 50})").as_object());
  const OcrInput defaults = deepseek_ocr::parse_ocr_input("{}", options);
  CHECK(defaults.prompt == "<image>\nFree OCR.");
  CHECK(defaults.mode == ResolutionMode::base);
  CHECK_FALSE(defaults.max_tokens.has_value());
  CHECK(defaults.sampling.temperature == 0.0f);
  CHECK(defaults.ngram_size == 20);
  CHECK(defaults.ngram_window == 50);

  const OcrInput given = deepseek_ocr::parse_ocr_input(
      R"({"prompt": "<image>\nParse the figure.", "mode": "gundam", "max_tokens": 7, "temperature": 0.5,
          "top_k": -1, "seed": 3, "ngram_size": 0})", options);
  CHECK(given.mode == ResolutionMode::gundam);
  CHECK(given.max_tokens == 7u);
  CHECK(given.sampling.temperature == 0.5f);
  CHECK(given.sampling.top_k == 0);
  CHECK(given.sampling.seed == 3u);
  CHECK(given.ngram_size == 0);

  CHECK_THROWS_WITH(deepseek_ocr::parse_ocr_input(R"({"mode": "huge"})", options), Catch::Contains("\"mode\""));
  CHECK_THROWS_WITH(deepseek_ocr::parse_ocr_input(R"({"max_tokens": 0})", options), Catch::Contains("max_tokens"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_ocr_input(R"({"temperature": "hot"})", options), Catch::Contains("temperature"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_ocr_input(R"({"ngram_size": 1})", options), Catch::Contains("ngram_size"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_ocr_input("[1]", options), Catch::Contains("request input"));
}

TEST_CASE("deepseek-ocr options are checked with the option named", "[deepseek-ocr]") {
  auto parse = [](const char* json) { return OcrOptions::parse(boost::json::parse(json).as_object()); };
  const OcrOptions defaults = parse("{}");
  CHECK(defaults.default_mode == ResolutionMode::gundam);
  CHECK(defaults.ngram_size == 30);
  CHECK(defaults.ngram_window == 90);
  CHECK(defaults.max_crops == 6);
  CHECK(defaults.kv_dtype == runtime::DType::f16);
  CHECK_THROWS_WITH(parse(R"({"default_mode": "xl"})"), Catch::Contains("default_mode"));
  CHECK_THROWS_WITH(parse(R"({"kv_cache_dtype": "bf16"})"), Catch::Contains("kv_cache_dtype"));
  CHECK_THROWS_WITH(parse(R"({"max_crops": 12})"), Catch::Contains("max_crops"));
  CHECK_THROWS_WITH(parse(R"({"threads": "many"})"), Catch::Contains("threads"));
  CHECK(defaults.vision_encoder_thread == OcrOptions::EncoderThread::automatic);
  CHECK(parse(R"({"vision_encoder_thread": true})").vision_encoder_thread == OcrOptions::EncoderThread::on);
  CHECK(parse(R"({"vision_encoder_thread": false})").vision_encoder_thread == OcrOptions::EncoderThread::off);
  CHECK(parse(R"({"vision_encoder_thread": "auto"})").vision_encoder_thread == OcrOptions::EncoderThread::automatic);
  CHECK_THROWS_WITH(parse(R"({"vision_encoder_thread": "sometimes"})"), Catch::Contains("vision_encoder_thread"));
  CHECK_FALSE(defaults.defer_unready_images);
  CHECK(parse(R"({"defer_unready_images": true})").defer_unready_images);
  CHECK_THROWS_WITH(parse(R"({"defer_unready_images": "yes"})"), Catch::Contains("defer_unready_images"));
}

TEST_CASE("the prompt is BOS, the text before <image>, the placeholder run, the text after", "[deepseek-ocr]") {
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::from_file(test::ocr_model_dir() / "tokenizer.json");
  const deepseek_ocr::PromptLayout layout =
      deepseek_ocr::layout_prompt(tokenizer, "Page: <image>\n<|grounding|>OCR this image.", 0, 128815, 5);
  const std::vector<int32_t> before = tokenizer.encode("Page: ", false);
  const std::vector<int32_t> after = tokenizer.encode("\n<|grounding|>OCR this image.", false);
  REQUIRE(layout.image_begin == 1 + before.size());
  CHECK(layout.image_tokens == 5);
  CHECK(layout.ids.size() == 1 + before.size() + 5 + after.size());
  CHECK(layout.ids[0] == 0);
  CHECK(std::count(layout.ids.begin(), layout.ids.end(), 128815) == 5);
  // The special token keeps its id inside the text.
  CHECK(std::count(after.begin(), after.end(), 128820) == 1);
  CHECK(std::vector<int32_t>(layout.ids.end() - after.size(), layout.ids.end()) == after);
  CHECK_THROWS_WITH(deepseek_ocr::layout_prompt(tokenizer, "no image here", 0, 128815, 5),
                    Catch::Contains("exactly one <image>"));
  CHECK_THROWS_WITH(deepseek_ocr::layout_prompt(tokenizer, "<image><image>", 0, 128815, 5),
                    Catch::Contains("exactly one <image>"));
}
