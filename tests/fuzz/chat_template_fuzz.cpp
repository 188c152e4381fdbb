// Fuzz target: chat templates and the prompt path of a text model. With the
// selector's bit 1 clear, the input after the selector byte is a request's
// native input (as the HTTP translators make it: {"messages": [...]} or
// {"prompt": ...}), parsed and encoded by llm-gptq's text front end of a
// Llama-3 (llama3 template) or Qwen2 (chatml, NFC) test model folder: every id
// must be inside the vocabulary. With bit 1 set it is a
// tokenizer_config.json: parsed, its template selected and a conversation
// rendered. Bad input must fail with runtime::RuntimeError only.
#include "fuzz_support.hpp"

#include "hf_config.h"
#include "request_input.h"
#include "text_front_end.h"

#include "runtime/core/error.h"
#include "runtime/text/chat_template.h"
#include "runtime/text/tokenizer_config.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

using namespace citadel;

struct Model {
  std::unique_ptr<llm::TextFrontEnd> front_end;
  uint32_t vocab_size = 0;
};

Model load_model(const char* name) {
  const auto folder = fuzz::source_dir() / "tests" / "data" / "llm" / name;
  const llm::HfModelConfig config = llm::load_hf_config(folder);
  return {std::make_unique<llm::TextFrontEnd>(folder, config, "auto", ""), config.vocab_size};
}

void encode_native_input(const Model& model, std::string_view input_json) {
  std::vector<int32_t> ids;
  try {
    ids = model.front_end->encode(llm::parse_request_input(input_json), model.vocab_size);
  } catch (const runtime::RuntimeError&) {
    return;
  }
  for (int32_t id : ids) {
    if (id < 0 || static_cast<uint32_t>(id) >= model.vocab_size) {
      std::fprintf(stderr, "chat finding: id %d outside the vocabulary of %u\n", id, model.vocab_size);
      std::abort();
    }
  }
}

void render_with_config(std::string_view tokenizer_config_json) {
  try {
    const runtime::TokenizerConfig config =
        runtime::TokenizerConfig::parse(tokenizer_config_json, "tokenizer_config.json");
    runtime::ChatTemplate chat = runtime::ChatTemplate::select("", config, "tokenizer_config.json");
    chat.set_default_system_prompt(config.bos_token.value_or(""));
    const std::vector<runtime::ChatMessage> messages = {{"user", config.chat_template},
                                                        {"assistant", config.eos_token.value_or("")}};
    chat.render(messages, true);
  } catch (const runtime::RuntimeError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Model models[2] = {load_model("llama3-gptq"), load_model("qwen2-gptq")};
  const fuzz::Selected input = fuzz::select_first_byte(data, size);
  if (input.selector & 2)
    render_with_config(input.rest);
  else
    encode_native_input(models[input.selector & 1], input.rest);
  return 0;
}
