// The vista text front end against transformers: the tiny checkpoint's
// tokenizer pads/truncates the reference prompt to 512 ids exactly as
// WanPipeline did, and the UMT5 encoder reproduces text.embeds within 1e-3.
#include "vista_reference.hpp"

#include "prompt_tokens.h"

#include "runtime/core/thread_pool.h"
#include "runtime/formats/json_file.h"

#include <catch2/catch.hpp>

using namespace citadel;

namespace {

std::string reference_prompt() {
  const boost::json::value json = runtime::read_json_file(test::vista_data() / "reference.json");
  return std::string(json.as_object().at("prompt").as_string());
}

}  // namespace

TEST_CASE("vista prompt tokens equal the pipeline's padded ids and mask", "[vista]") {
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::from_file(test::vista_checkpoint() / "tokenizer/tokenizer.json");
  const vista::PromptTokens tokens = vista::tokenize_prompt(tokenizer, reference_prompt(), 512, 0);
  const std::vector<int64_t> ids = test::vista_reference_ints("text.input_ids");
  const std::vector<int64_t> mask = test::vista_reference_ints("text.attention_mask");
  REQUIRE(tokens.ids.size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) CHECK(tokens.ids[i] == ids[i]);
  int64_t valid = 0;
  for (int64_t m : mask) valid += m;
  CHECK(tokens.valid == valid);
}

TEST_CASE("vista prompt cleaning unescapes entities and collapses whitespace", "[vista]") {
  CHECK(vista::clean_prompt("  a\t\tfox &amp;amp; &lt;b&gt;\n &#65;&#x42; ") == "a fox & <b> AB");
  CHECK(vista::clean_prompt("&unknown; & x") == "&unknown; & x");
}

TEST_CASE("vista prompts longer than 512 tokens keep the end-of-sequence token", "[vista]") {
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::from_file(test::vista_checkpoint() / "tokenizer/tokenizer.json");
  std::string prompt;
  for (int i = 0; i < 400; ++i) prompt += "fox snow ";
  const vista::PromptTokens tokens = vista::tokenize_prompt(tokenizer, prompt, 512, 0);
  CHECK(tokens.valid == 512);
  CHECK(tokens.ids.back() == *tokenizer.token_to_id("</s>"));
}

TEST_CASE("vista T5 relative buckets match transformers' table", "[vista]") {
  // transformers UMT5Attention._relative_position_bucket, 32 buckets, 128 max.
  CHECK(vista::t5_relative_bucket(0, 32, 128) == 0);
  CHECK(vista::t5_relative_bucket(-7, 32, 128) == 7);
  CHECK(vista::t5_relative_bucket(7, 32, 128) == 23);
  CHECK(vista::t5_relative_bucket(-8, 32, 128) == 8);
  CHECK(vista::t5_relative_bucket(-16, 32, 128) == 10);
  CHECK(vista::t5_relative_bucket(-127, 32, 128) == 15);
  CHECK(vista::t5_relative_bucket(500, 32, 128) == 31);
}

TEST_CASE("vista UMT5 encoder output matches transformers within 1e-3", "[vista]") {
  const auto folder = test::vista_checkpoint() / "text_encoder";
  const vista::Umt5Config config = vista::read_umt5_config(folder / "config.json");
  const vista::WeightStore store(folder);
  const vista::Umt5Encoder encoder(config, store);
  std::vector<int32_t> ids;
  for (int64_t id : test::vista_reference_ints("text.input_ids")) ids.push_back(static_cast<int32_t>(id));
  int64_t valid = 0;
  for (int64_t m : test::vista_reference_ints("text.attention_mask")) valid += m;
  runtime::ThreadPool pool(2);
  const std::vector<float> embeds = encoder.encode(pool, ids, valid);
  const double error = test::relative_error(embeds, test::vista_reference("text.embeds"));
  INFO("relative error " << error);
  CHECK(error < 1e-3);
}
