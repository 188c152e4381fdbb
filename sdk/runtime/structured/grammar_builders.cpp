// Grammar building blocks shared by the schema compiler and the tool-call
// grammar: literals, any JSON value, any JSON object.
#include "runtime/structured/grammar.h"

namespace citadel::runtime::structured {

uint32_t add_literal(Grammar& grammar, std::string_view bytes) {
  GrammarNode node;
  node.kind = NodeKind::literals;
  node.literals.insert(bytes, 0);
  return grammar.add(std::move(node));
}

uint32_t add_text_until(Grammar& grammar, std::string_view tag) {
  GrammarNode node;
  node.kind = NodeKind::text_until;
  node.tag = std::string(tag);
  node.tag_failure.assign(tag.size(), 0);  // longest proper border of tag[0..i]
  for (size_t i = 1, border = 0; i < tag.size(); ++i) {
    while (border > 0 && tag[i] != tag[border]) border = node.tag_failure[border - 1];
    if (tag[i] == tag[border]) ++border;
    node.tag_failure[i] = static_cast<uint32_t>(border);
  }
  return grammar.add(std::move(node));
}

uint32_t add_any_value(Grammar& grammar) {
  // any = object | array | string | number | true | false | null
  const uint32_t any = grammar.add(GrammarNode{});
  GrammarNode key;
  key.kind = NodeKind::string;
  const uint32_t key_index = grammar.add(std::move(key));
  GrammarNode object;
  object.kind = NodeKind::object;
  object.free_form = true;
  object.free_key = key_index;
  object.free_value = any;
  GrammarNode array;
  array.kind = NodeKind::array;
  array.children = {any};
  GrammarNode string;
  string.kind = NodeKind::string;
  GrammarNode number;
  number.kind = NodeKind::number;
  GrammarNode words;
  words.kind = NodeKind::literals;
  words.literals.insert("true", 0);
  words.literals.insert("false", 1);
  words.literals.insert("null", 2);
  std::vector<uint32_t> children;
  for (GrammarNode* part : {&object, &array, &string, &number, &words}) children.push_back(grammar.add(std::move(*part)));
  GrammarNode& node = grammar.nodes[any];  // taken after the adds: they may move the table
  node.kind = NodeKind::any_of;
  node.path = "(any value)";
  node.children = std::move(children);
  return any;
}

uint32_t add_any_object(Grammar& grammar) {
  const uint32_t any = add_any_value(grammar);
  return grammar.nodes[any].children[0];
}

}  // namespace citadel::runtime::structured
