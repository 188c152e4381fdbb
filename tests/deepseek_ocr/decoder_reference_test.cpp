// The deepseek-ocr decoder against the PyTorch reference
// (tools/deepseek_ocr): for every committed case, the reference's laid-out
// image embeddings go in place of the <image> placeholders; the last prompt
// position's logits must match within 1e-2 relative error and 32 greedy
// tokens must be identical. Prefill runs in chunks that cut through the
// image run, so the embedding substitution is checked across chunk edges.
#include "deepseek_ocr/ocr_reference.hpp"

#include "decoder_config.h"
#include "decoder_pass.h"
#include "decoder_weights.h"


#include <catch2/catch.hpp>

using namespace citadel;

namespace {

struct TinyDecoder {
  TinyDecoder()
      : config(deepseek_ocr::load_decoder_config(test::ocr_model_dir())),
        checkpoint(test::ocr_model_dir()),
        weights(deepseek_ocr::load_decoder_weights(config, checkpoint)) {}
  deepseek_ocr::DecoderConfig config;
  runtime::SafetensorsCheckpoint checkpoint;
  deepseek_ocr::DecoderWeights weights;
};

}  // namespace

TEST_CASE("decoder logits and greedy tokens match the reference for every case", "[deepseek-ocr]") {
  TinyDecoder tiny;
  runtime::ThreadPool pool(2);
  const boost::json::object index = test::ocr_index();
  std::vector<int32_t> used_ids;
  for (const auto& id : index.at("used_vocab_ids").as_array()) used_ids.push_back(static_cast<int32_t>(id.to_number<int64_t>()));
  const std::vector<std::string> cases = test::ocr_case_names();
  REQUIRE(cases.size() >= 10);
  for (const std::string& name : cases) {
    INFO("case " << name);
    const runtime::SafetensorsFile ref(test::ocr_data_dir() / "cases" / name / "ref.safetensors");
    std::vector<int32_t> sequence = test::tensor_values<int32_t>(ref.tensor("input_ids"));
    const std::vector<float> image = test::tensor_values<float>(ref.tensor("image_embeddings"));
    const std::vector<float> ref_logits = test::tensor_values<float>(ref.tensor("logits_last"));
    const std::vector<int32_t> ref_greedy = test::tensor_values<int32_t>(ref.tensor("greedy_tokens"));
    const uint32_t image_tokens = static_cast<uint32_t>(image.size() / tiny.config.hidden_size);
    const auto first_image = std::find(sequence.begin(), sequence.end(), 128815);
    REQUIRE(first_image != sequence.end());
    const uint32_t run_begin = static_cast<uint32_t>(first_image - sequence.begin());
    REQUIRE(std::count(sequence.begin(), sequence.end(), 128815) == image_tokens);

    deepseek_ocr::DecoderPass pass(tiny.config, tiny.weights, runtime::DType::f32);
    test::TestBlocks blocks(deepseek_ocr::kTokensPerBlock * tiny.config.num_layers * pass.bytes_per_token_per_layer(),
                            deepseek_ocr::kTokensPerBlock);
    const uint32_t prompt = static_cast<uint32_t>(sequence.size());
    const uint32_t chunk = 37;  // not a multiple of the block size, cuts the image run
    std::vector<float> logits;
    for (uint32_t begin = 0; begin < prompt; begin += chunk) {
      const uint32_t count = std::min(chunk, prompt - begin);
      deepseek_ocr::DecoderChunk part;
      part.tokens = std::span<const int32_t>(sequence.data() + begin, count);
      part.first_position = begin;
      part.blocks = blocks.cover(begin + count);
      part.image = deepseek_ocr::EmbeddingRun{run_begin, image_tokens, image.data()};
      part.want_logits = begin + count == prompt;
      logits = pass.run(std::span(&part, 1), pool);
    }
    REQUIRE(logits.size() == tiny.config.vocab_size);
    std::vector<float> used(ref_logits.size());
    for (size_t i = 0; i < used_ids.size(); ++i) used[i] = logits[used_ids[i]];
    const std::vector<float> ref_used = [&] {
      if (ref_logits.size() == used_ids.size()) return ref_logits;
      std::vector<float> picked;
      for (int32_t id : used_ids) picked.push_back(ref_logits[id]);
      return picked;
    }();
    used.resize(ref_used.size());
    CHECK(test::relative_error(used, ref_used) < 1e-2);

    const std::vector<int32_t> greedy = test::greedy_continue(pass, blocks, sequence, logits, ref_greedy.size(), pool);
    CHECK(greedy == ref_greedy);
  }
}

TEST_CASE("a checkpoint tensor with the wrong shape is refused naming the tensor", "[deepseek-ocr]") {
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::load_decoder_config(test::ocr_model_dir());
  const runtime::SafetensorsCheckpoint checkpoint(test::ocr_model_dir());
  const deepseek_ocr::TensorFinder wrong = [&](const std::string& name) {
    runtime::Tensor tensor = checkpoint.has(name) ? checkpoint.tensor(name) : runtime::Tensor{};
    if (name == "model.layers.1.mlp.experts.5.up_proj.weight") return tensor.reshaped({tensor.dim(1), tensor.dim(0)});
    return tensor;
  };
  CHECK_THROWS_WITH(deepseek_ocr::load_decoder_weights(config, wrong, "ckpt"),
                    Catch::Contains("'model.layers.1.mlp.experts.5.up_proj.weight' has shape"));
  const deepseek_ocr::TensorFinder missing = [&](const std::string& name) {
    if (name == "model.layers.2.mlp.shared_experts.down_proj.weight") return runtime::Tensor{};
    return checkpoint.has(name) ? checkpoint.tensor(name) : runtime::Tensor{};
  };
  CHECK_THROWS_WITH(deepseek_ocr::load_decoder_weights(config, missing, "ckpt"),
                    Catch::Contains("missing tensor 'model.layers.2.mlp.shared_experts.down_proj.weight'"));
}

TEST_CASE("config.json variants the decoder does not compute are refused naming the field", "[deepseek-ocr]") {
  const std::string base = R"({"language_config": {"vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 2,
      "num_attention_heads": 2, "intermediate_size": 32, "moe_intermediate_size": 8, "n_routed_experts": 4,
      "num_experts_per_tok": 2, "first_k_dense_replace": 1 %s}})";
  auto with = [&](const std::string& extra) {
    std::string text = base;
    text.replace(text.find("%s"), 2, extra);
    return text;
  };
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::parse_decoder_config(with(""), "c.json");
  CHECK(config.head_dim == 8);
  CHECK(config.num_kv_heads == 2);
  CHECK(config.is_moe_layer(1));
  CHECK_FALSE(config.is_moe_layer(0));
  CHECK_THROWS_WITH(deepseek_ocr::parse_decoder_config(with(R"(, "use_mla": true)"), "c.json"), Catch::Contains("use_mla"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_decoder_config(with(R"(, "topk_method": "noaux_tc")"), "c.json"),
                    Catch::Contains("topk_method"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_decoder_config(with(R"(, "num_experts_per_tok": 9)"), "c.json"),
                    Catch::Contains("num_experts_per_tok"));
  CHECK_THROWS_WITH(deepseek_ocr::parse_decoder_config(R"({"vision_config": {}})", "c.json"), Catch::Contains("language_config"));
}
