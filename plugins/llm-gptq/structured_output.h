// structured_output.h — llm-gptq's side of constrained decoding: checks a
// request's tools against the model's chat template (a model whose template
// handles no tools refuses them, naming the model), and makes the
// TokenConstraint that Generation applies before each sample (JSON schema /
// json_object response formats, tool_choice "required" or a named function).
// The vocabulary trie is built on the first constrained request and shared
// by all later ones. Owned by LlmModel; called under the instance's lock.
#pragma once

#include "request_input.h"
#include "text_front_end.h"

#include "runtime/structured/token_constraint.h"
#include "runtime/structured/vocabulary_trie.h"

#include <memory>
#include <string>
#include <vector>

namespace citadel::llm {

class StructuredOutput {
 public:
  // tools_option: "auto" (the template's Jinja text decides), "on", "off".
  StructuredOutput(std::string model_name, const TextFrontEnd& text, const std::string& tools_option);

  // Throws RuntimeError (INVALID_ARGUMENT) for tools the model cannot take.
  void check(const RequestInput& input) const;
  // The constraint for the request, or null when it asks for none.
  std::unique_ptr<runtime::structured::TokenConstraint> constraint_for(const RequestInput& input,
                                                                       std::vector<int32_t> end_tokens);

 private:
  std::string model_name_;
  const TextFrontEnd& text_;
  bool tools_supported_ = false;
  std::shared_ptr<const runtime::structured::VocabularyTrie> vocabulary_;
};

}  // namespace citadel::llm
