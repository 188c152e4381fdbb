// The whole deepseek-ocr pipeline against the PyTorch reference, from the
// committed page images: decode + preprocess (the placeholder count), the
// prompt ids (tokenizer.json + layout, compared with the reference's
// input_ids), the DeepEncoder's rows in place of the placeholders, the
// decoder: last-position logits within 1e-2 relative error and 32 greedy
// tokens identical, for every case (every mode, Gundam with 2-4 tiles; 6 of
// them in the sanitizer builds, see ocr_case_in_this_build).
#include "deepseek_ocr/ocr_reference.hpp"

#include "decoder_config.h"
#include "decoder_pass.h"
#include "decoder_weights.h"
#include "prompt_layout.h"
#include "vision/deep_encoder.h"

#include "runtime/text/tokenizer.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

using namespace citadel;

namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("image files to logits and greedy tokens match the reference for every case", "[deepseek-ocr]") {
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::load_decoder_config(test::ocr_model_dir());
  const runtime::SafetensorsCheckpoint checkpoint(test::ocr_model_dir());
  const deepseek_ocr::DecoderWeights weights = deepseek_ocr::load_decoder_weights(config, checkpoint);
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::from_file(test::ocr_model_dir() / "tokenizer.json");
  runtime::ThreadPool pool(2);
  std::unique_ptr<deepseek_ocr::DeepEncoder> encoder = deepseek_ocr::DeepEncoder::load_cpu(test::ocr_model_dir(), pool);
  REQUIRE(encoder->lm_hidden() == config.hidden_size);
  const int32_t image_id = tokenizer.token_to_id("<image>").value();
  CHECK(image_id == 128815);

  const boost::json::object index = test::ocr_index();
  std::vector<int32_t> used_ids;
  for (const auto& id : index.at("used_vocab_ids").as_array()) used_ids.push_back(static_cast<int32_t>(id.to_number<int64_t>()));
  double worst = 0;
  int checked_cases = 0;
  for (const std::string& name : test::ocr_case_names()) {
    if (!test::ocr_case_in_this_build(name)) continue;
    ++checked_cases;
    INFO("case " << name);
    const boost::json::object& entry = index.at("cases").at(name).as_object();
    const runtime::SafetensorsFile ref(test::ocr_data_dir() / "cases" / name / "ref.safetensors");
    const std::vector<int32_t> ref_ids = test::tensor_values<int32_t>(ref.tensor("input_ids"));
    const std::vector<float> ref_logits = test::tensor_values<float>(ref.tensor("logits_last"));
    const std::vector<int32_t> ref_greedy = test::tensor_values<int32_t>(ref.tensor("greedy_tokens"));

    const deepseek_ocr::PreparedImage image = deepseek_ocr::prepare_image(
        read_bytes(test::ocr_data_dir() / std::string(entry.at("image").as_string())),
        deepseek_ocr::parse_resolution_mode(std::string(entry.at("mode").as_string())), {},
        static_cast<int>(index.at("max_crops").to_number<int64_t>()));
    CHECK(image.num_image_tokens == entry.at("n_image_tokens").to_number<int64_t>());
    deepseek_ocr::PromptLayout layout =
        deepseek_ocr::layout_prompt(tokenizer, std::string(entry.at("prompt").as_string()), config.bos_token_id,
                                    image_id, static_cast<uint32_t>(image.num_image_tokens));
    REQUIRE(layout.ids == ref_ids);
    const std::vector<float> rows = encoder->encode(image);

    deepseek_ocr::DecoderPass pass(config, weights, runtime::DType::f32);
    test::TestBlocks blocks(deepseek_ocr::kTokensPerBlock * config.num_layers * pass.bytes_per_token_per_layer(),
                            deepseek_ocr::kTokensPerBlock);
    std::vector<int32_t>& sequence = layout.ids;
    deepseek_ocr::DecoderChunk prompt;
    prompt.tokens = sequence;
    prompt.blocks = blocks.cover(sequence.size());
    prompt.image = deepseek_ocr::EmbeddingRun{layout.image_begin, layout.image_tokens, rows.data()};
    prompt.want_logits = true;
    std::vector<float> logits = pass.run(std::span(&prompt, 1), pool);
    std::vector<float> used;
    for (int32_t id : used_ids) used.push_back(logits[id]);
    const double error = test::relative_error(used, ref_logits);
    worst = std::max(worst, error);
    CHECK(error < 1e-2);

    const std::vector<int32_t> greedy = test::greedy_continue(pass, blocks, sequence, logits, ref_greedy.size(), pool);
    CHECK(greedy == ref_greedy);
  }
  CHECK(checked_cases >= 6);
  WARN("largest last-logit relative error from the image files (" << checked_cases << " cases): " << worst);
}
