// Fuzz target: a GGUF model file as llm-gptq loads it (llm::load_gguf_model:
// the architecture and <arch>.* hyper-parameters into its model config, RoPE
// settings, every tensor by its llama.cpp name and shape, the tokenizer
// arrays and the chat template). The `gguf` target covers the GgufFile
// reader below it; this one the model config read from the metadata.
//
// Oracle: a file that is not a model llm-gptq runs must fail with
// runtime::RuntimeError (which names the file and key or tensor); any other
// exception (std::bad_alloc, std::length_error, ...) is a finding, and so is
// an allocation above libFuzzer's -rss_limit_mb / -malloc_limit_mb (an
// absurd size taken from the metadata). For a file that loads:
// - the hyper-parameters are usable: every size positive, head_count a
//   multiple of head_count_kv, an even head size, finite positive
//   rms epsilon, RoPE base and scaling factor;
// - one LayerWeights per block, the BOS, EOS and stop token ids and every
//   tokenizer id inside the embedding's rows;
// - a fixed text and a fixed chat encode to ids inside those rows (or are
//   refused with RuntimeError: no usable template, a vocabulary without
//   some of their bytes).
#include "fuzz_support.hpp"

#include "gguf_model.h"
#include "request_input.h"

#include "runtime/core/error.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

namespace {

using namespace citadel;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "gguf_hparams finding: %s\n", what.c_str());
  std::abort();
}

bool positive_finite(double value) { return std::isfinite(value) && value > 0; }

void check_ids(const std::vector<int32_t>& ids, uint32_t vocab, const std::string& what) {
  for (int32_t id : ids)
    if (id < 0 || static_cast<uint32_t>(id) >= vocab)
      finding(what + " gave token id " + std::to_string(id) + " outside the " + std::to_string(vocab) + " rows");
}

void check_config(const llm::HfModelConfig& c) {
  if (c.num_layers == 0 || c.hidden_size == 0 || c.intermediate_size == 0 || c.num_heads == 0 ||
      c.num_kv_heads == 0 || c.head_dim == 0 || c.vocab_size == 0 || c.max_position_embeddings == 0)
    finding("a size of zero was accepted");
  if (c.num_heads % c.num_kv_heads != 0) finding("head_count_kv does not divide head_count");
  if (c.head_dim % 2 != 0) finding("an odd head size was accepted");
  if (!positive_finite(c.rms_norm_eps)) finding("rms epsilon " + std::to_string(c.rms_norm_eps) + " was accepted");
  if (!positive_finite(c.rope.theta)) finding("RoPE base " + std::to_string(c.rope.theta) + " was accepted");
  if (!positive_finite(c.rope.factor)) finding("RoPE factor " + std::to_string(c.rope.factor) + " was accepted");
  if (c.bos_token_id) check_ids({*c.bos_token_id}, c.vocab_size, "bos_token_id");
  check_ids(c.eos_token_ids, c.vocab_size, "eos_token_id");
}

void check_text(const llm::GgufModel& model) {
  const uint32_t vocab = model.config.vocab_size;
  const llm::TextFrontEnd& text = *model.text;
  if (text.tokenizer().vocab_size() > vocab)
    finding("a tokenizer of " + std::to_string(text.tokenizer().vocab_size()) + " tokens for " +
            std::to_string(vocab) + " embedding rows");
  check_ids(text.stop_token_ids(), vocab, "the stop tokens");
  llm::RequestInput prompt;
  prompt.prompt_text = "Hello wörld <s> 日本\xF0\x9F\x98\x80";
  llm::RequestInput chat;
  chat.messages.push_back(runtime::ChatMessage{.role = "user", .content = "Hi there"});
  for (const llm::RequestInput* input : {&prompt, &chat}) {
    try {
      check_ids(text.encode(*input, vocab), vocab, input == &chat ? "a chat" : "a prompt");
    } catch (const runtime::RuntimeError&) {  // no usable template, a vocabulary without these bytes
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = fuzz::scratch_dir() / "model.gguf";
  fuzz::write_file(path, fuzz::as_text(data, size));
  std::optional<llm::GgufModel> model;
  try {
    model.emplace(llm::load_gguf_model(path, "auto", ""));
  } catch (const runtime::RuntimeError&) {
    return 0;
  } catch (const std::exception& error) {
    finding(std::string("not a RuntimeError: ") + error.what());
  }
  check_config(model->config);
  if (model->weights.layers.size() != model->config.num_layers) finding("the layer count differs from block_count");
  check_text(*model);
  return 0;
}
