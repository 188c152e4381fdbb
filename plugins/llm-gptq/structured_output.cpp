// StructuredOutput: tool support check and per-request token constraints.
#include "structured_output.h"

#include "runtime/core/error.h"

namespace citadel::llm {

StructuredOutput::StructuredOutput(std::string model_name, const TextFrontEnd& text, const std::string& tools_option)
    : model_name_(std::move(model_name)), text_(text) {
  const runtime::ChatTemplate* chat = text_.chat_template();
  if (tools_option == "on") tools_supported_ = chat != nullptr;
  else if (tools_option == "auto") tools_supported_ = chat != nullptr && chat->supports_tools();
}

void StructuredOutput::check(const RequestInput& input) const {
  if (!input.structured.has_tools()) return;
  if (!input.is_chat()) runtime::throw_invalid("request input: 'tools' needs 'messages' (a chat request)");
  if (!tools_supported_) {
    runtime::throw_invalid("model '" + model_name_ +
                           "' does not support tools: its chat template has no tool calling "
                           "(set the llm-gptq option 'tools: on' to use the " +
                           (text_.chat_template() ? std::string(runtime::chat_style_name(text_.chat_template()->style()))
                                                  : std::string("(none)")) +
                           " tool convention anyway)");
  }
}

std::unique_ptr<runtime::structured::TokenConstraint> StructuredOutput::constraint_for(const RequestInput& input,
                                                                                      std::vector<int32_t> end_tokens) {
  const runtime::ChatTemplate* chat = text_.chat_template();
  const runtime::ChatStyle style = chat ? chat->style() : runtime::ChatStyle::chatml;
  std::shared_ptr<const runtime::structured::Grammar> grammar = runtime::structured::request_grammar(input.structured, style);
  if (!grammar) return nullptr;
  if (!vocabulary_) {
    vocabulary_ = std::make_shared<const runtime::structured::VocabularyTrie>(
        runtime::structured::VocabularyTrie::from_tokenizer(text_.tokenizer()));
  }
  return std::make_unique<runtime::structured::TokenConstraint>(std::move(grammar), vocabulary_, std::move(end_tokens));
}

}  // namespace citadel::llm
