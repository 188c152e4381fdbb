// tool_call_grammar: the call object of each function in the family's form.
#include "runtime/structured/tool_call_grammar.h"

#include "runtime/structured/json_schema_compiler.h"

#include <boost/json.hpp>

namespace citadel::runtime::structured {
namespace {

// {"name": "<function>", "<arguments_key>": <parameters>} in that order.
uint32_t add_call_object(Grammar& grammar, const ToolFunction& function, const std::string& arguments_key) {
  const uint32_t arguments = function.parameters.is_null()
                                 ? add_any_object(grammar)
                                 : add_json_schema(grammar, function.parameters, function.where);
  GrammarNode call;
  call.kind = NodeKind::object;
  call.path = "(call of " + function.name + ")";
  const std::string quoted_name = boost::json::serialize(boost::json::value(function.name));
  call.properties = {{"name", add_literal(grammar, quoted_name), true}, {arguments_key, arguments, true}};
  call.keys.insert("\"name\"", 0);
  call.keys.insert(boost::json::serialize(boost::json::value(arguments_key)), 1);
  return grammar.add(std::move(call));
}

uint32_t add_any_call(Grammar& grammar, const std::vector<ToolFunction>& functions, const std::string& key) {
  GrammarNode any_call;
  any_call.kind = NodeKind::any_of;
  for (const ToolFunction& function : functions) any_call.children.push_back(add_call_object(grammar, function, key));
  return grammar.add(std::move(any_call));
}

}  // namespace

std::shared_ptr<const Grammar> tool_call_auto_grammar(const std::vector<ToolFunction>& functions, uint32_t max_calls) {
  auto grammar = std::make_shared<Grammar>();
  const uint32_t call = add_any_call(*grammar, functions, "arguments");
  GrammarNode item;  // text, then a call
  item.kind = NodeKind::sequence;
  item.children = {add_text_until(*grammar, "<tool_call>"), add_literal(*grammar, "\n"), call,
                   add_literal(*grammar, "\n</tool_call>")};
  const uint32_t item_index = grammar->add(std::move(item));
  GrammarNode calls;
  calls.kind = NodeKind::repeat;
  calls.min_items = 0;
  calls.max_items = max_calls;
  calls.children = {item_index};
  grammar->root = grammar->add(std::move(calls));
  return grammar;
}

std::shared_ptr<const Grammar> tool_call_grammar(ToolCallSyntax syntax, const std::vector<ToolFunction>& functions,
                                                 uint32_t max_calls) {
  auto grammar = std::make_shared<Grammar>();
  const uint32_t call =
      add_any_call(*grammar, functions, syntax == ToolCallSyntax::hermes ? "arguments" : "parameters");
  if (syntax == ToolCallSyntax::llama3_json) {
    grammar->root = call;
    return grammar;
  }
  GrammarNode item;
  item.kind = NodeKind::sequence;
  item.children = {add_literal(*grammar, "<tool_call>\n"), call, add_literal(*grammar, "\n</tool_call>")};
  const uint32_t item_index = grammar->add(std::move(item));
  GrammarNode calls;
  calls.kind = NodeKind::repeat;
  calls.min_items = 1;
  calls.max_items = std::max<uint32_t>(max_calls, 1);
  calls.children = {item_index, add_literal(*grammar, "\n")};
  grammar->root = grammar->add(std::move(calls));
  return grammar;
}

}  // namespace citadel::runtime::structured
