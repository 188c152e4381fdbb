// config.json / quantize_config.json parsing: architectures, both spellings
// of RoPE settings and dtype, GPTQ variants, and errors that name the field.
#include "hf_config.h"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace citadel::llm;

namespace {

const char* kLlama3 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300,
  "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "torch_dtype": "bfloat16",
  "rope_theta": 500000.0, "tie_word_embeddings": true,
  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
  "bos_token_id": 1, "eos_token_id": [2, 3],
  "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32,
                          "sym": false, "desc_act": true, "checkpoint_format": "gptq_v2"}
})";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("llama config with llama3 rope scaling and GPTQ v2 is read in full", "[llm]") {
  const HfModelConfig config = parse_hf_config(kLlama3);
  CHECK(config.model_type == "llama");
  CHECK(config.hidden_size == 64);
  CHECK(config.intermediate_size == 160);
  CHECK(config.num_layers == 2);
  CHECK(config.num_heads == 4);
  CHECK(config.num_kv_heads == 2);
  CHECK(config.head_dim == 16);
  CHECK(config.vocab_size == 300);
  CHECK(config.max_position_embeddings == 4096);
  CHECK(config.rms_norm_eps == Approx(1e-5));
  CHECK(config.dtype == WeightDtype::bfloat16);
  CHECK(config.tie_word_embeddings);
  CHECK_FALSE(config.attention_bias);
  CHECK_FALSE(config.qk_norm);
  CHECK(config.rope.theta == 500000.0);
  CHECK(config.rope.scaling == RopeScalingKind::llama3);
  CHECK(config.rope.factor == 8.0);
  CHECK(config.rope.high_freq_factor == 4.0);
  CHECK(config.rope.original_max_position_embeddings == 8192);
  CHECK(config.bos_token_id == 1);
  CHECK(config.eos_token_ids == std::vector<int32_t>{2, 3});
  REQUIRE(config.gptq.has_value());
  CHECK(config.gptq->bits == 4);
  CHECK(config.gptq->group_size == 32);
  CHECK_FALSE(config.gptq->sym);
  CHECK(config.gptq->desc_act);
  CHECK(config.gptq->format == GptqCheckpointFormat::gptq_v2);
}

TEST_CASE("newer rope_parameters and dtype spellings mean the same as the old ones", "[llm]") {
  const std::string newer = R"({
    "model_type": "llama", "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300, "dtype": "float16",
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                        "original_max_position_embeddings": 8192}})";
  const HfModelConfig config = parse_hf_config(newer);
  CHECK(config.dtype == WeightDtype::float16);
  CHECK(config.rope.theta == 500000.0);
  CHECK(config.rope.scaling == RopeScalingKind::llama3);
  CHECK(config.rope.factor == 8.0);
  CHECK_FALSE(config.gptq.has_value());
  CHECK(config.eos_token_ids.empty());
}

TEST_CASE("qwen2 has q/k/v biases and qwen3 has q/k norms with an explicit head_dim", "[llm]") {
  const std::string base = R"({"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 160,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 300,
    "rope_theta": 1000000.0, "eos_token_id": 7})";
  const HfModelConfig qwen2 = parse_hf_config(base);
  CHECK(qwen2.attention_bias);
  CHECK_FALSE(qwen2.qk_norm);
  CHECK(qwen2.head_dim == 16);
  CHECK(qwen2.eos_token_ids == std::vector<int32_t>{7});

  const HfModelConfig qwen3 =
      parse_hf_config(with(with(base, "\"qwen2\"", "\"qwen3\""), "\"vocab_size\"", "\"head_dim\": 32, \"vocab_size\""));
  CHECK_FALSE(qwen3.attention_bias);
  CHECK(qwen3.qk_norm);
  CHECK(qwen3.head_dim == 32);
}

TEST_CASE("mistral's sliding window bounds the served context", "[llm]") {
  const HfModelConfig config = parse_hf_config(R"({"model_type": "mistral", "hidden_size": 64,
    "intermediate_size": 160, "num_hidden_layers": 1, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 300, "max_position_embeddings": 32768,
    "sliding_window": 4096})");
  CHECK(config.max_position_embeddings == 4096);
}

TEST_CASE("GPTQ settings come from quantize_config.json when config.json has none, eos ids also from generation_config.json", "[llm]") {
  citadel::test::TempDir dir;
  dir.write("config.json", with(kLlama3, "\"quantization_config\"", "\"unused\""));
  dir.write("quantize_config.json", R"({"bits": 8, "group_size": -1, "desc_act": false, "sym": true})");
  dir.write("generation_config.json", R"({"eos_token_id": [3, 9]})");
  const HfModelConfig config = load_hf_config(dir.path());
  REQUIRE(config.gptq.has_value());
  CHECK(config.gptq->bits == 8);
  CHECK(config.gptq->group_size == -1);
  CHECK(config.gptq->sym);
  CHECK(config.gptq->format == GptqCheckpointFormat::gptq_v1);
  CHECK(config.eos_token_ids == std::vector<int32_t>{2, 3, 9});  // config.json's, then generation_config's
}

TEST_CASE("unsupported config variants are errors naming the field", "[llm]") {
  auto error_of = [](const std::string& json) -> std::string {
    try {
      parse_hf_config(json);
    } catch (const HfConfigError& error) {
      return error.what();
    }
    return "no error";
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(error_of(with(kLlama3, "\"bits\": 4", "\"bits\": 3")), Contains("quantization_config.bits"));
  CHECK_THAT(error_of(with(kLlama3, "\"quant_method\": \"gptq\"", "\"quant_method\": \"awq\"")),
             Contains("quantization_config.quant_method"));
  CHECK_THAT(error_of(with(kLlama3, "\"gptq_v2\"", "\"marlin\"")), Contains("checkpoint_format"));
  CHECK_THAT(error_of(with(kLlama3, "\"group_size\": 32", "\"group_size\": 0")), Contains("group_size"));
  CHECK_THAT(error_of(with(kLlama3, "\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"")),
             Contains("rope_scaling.rope_type"));
  CHECK_THAT(error_of(with(kLlama3, "\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"")),
             Contains("model_type"));
  CHECK_THAT(error_of(with(kLlama3, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3")),
             Contains("num_key_value_heads"));
  CHECK_THAT(error_of(with(kLlama3, "\"hidden_size\": 64,", "")), Contains("'hidden_size' is missing"));
  CHECK_THAT(error_of(with(kLlama3, "\"bfloat16\"", "\"float8\"")), Contains("torch_dtype"));
  CHECK_THAT(error_of("[1, 2]"), Contains("config.json"));
}
