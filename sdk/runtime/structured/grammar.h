// The compiled form of a structured-output constraint: a table of nodes (JSON
// values of a schema, literal byte strings, sequences, repeats and free text
// up to a tag for the tool-call forms) that GrammarMatcher walks byte by byte
// as a pushdown automaton. Built by compile_json_schema
// (json_schema_compiler.h) and tool_call_grammar (tool_call_grammar.h);
// immutable once built, so one Grammar may be shared by many matchers on many
// threads.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime::structured {

// A set of byte strings as a trie; each string ends at a node holding its
// value (an enum entry, a property index).
class LiteralTrie {
 public:
  static constexpr uint32_t kRoot = 0;
  static constexpr int32_t kNone = -1;

  LiteralTrie();
  // Adds `bytes` with `value`; false when the same string is already there.
  bool insert(std::string_view bytes, int32_t value);
  // The node reached from `node` by `byte`, or kNone.
  int32_t child(uint32_t node, uint8_t byte) const;
  bool has_children(uint32_t node) const { return !nodes_[node].children.empty(); }
  // The value of the string ending at `node`, or kNone.
  int32_t terminal(uint32_t node) const { return nodes_[node].terminal; }
  // Sorted values of every string through `node` (for "any allowed in range").
  const std::vector<int32_t>& values_below(uint32_t node) const { return nodes_[node].below; }
  bool empty() const { return nodes_[kRoot].below.empty(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // sorted by byte
    int32_t terminal = kNone;
    std::vector<int32_t> below;
  };
  std::vector<Node> nodes_;
};

enum class NodeKind : uint8_t {
  object,    // properties in schema order (or any keys when free_form)
  array,     // items, min_items..max_items
  string,    // any JSON string of min_length..max_length code points
  number,    // JSON number; integer syntax only when `integer`; bounds on the integer part
  literals,  // one of a set of exact byte strings (enum, const, true/false/null, tags)
  any_of,    // one of `children` (anyOf, oneOf, type lists)
  sequence,  // `children` one after the other, no whitespace between
  repeat,    // `children[0]` min_items..max_items times, `children[1]` between
  text_until,  // any bytes up to and including the first `tag`; the whole match may end inside
};

struct ObjectProperty {
  std::string name;
  uint32_t value = 0;  // node index
  bool required = false;
};

struct GrammarNode {
  NodeKind kind = NodeKind::literals;
  // object
  std::vector<ObjectProperty> properties;
  LiteralTrie keys;  // each property's quoted JSON key -> property index
  bool free_form = false;  // any string keys with any values (properties empty)
  uint32_t free_value = 0;  // free_form: the node of every value
  uint32_t free_key = 0;    // free_form: the node of every key (a string node)
  // array (items = children[0]) and repeat
  uint32_t min_items = 0;
  uint32_t max_items = std::numeric_limits<uint32_t>::max();
  // string
  uint32_t min_length = 0;
  uint32_t max_length = std::numeric_limits<uint32_t>::max();
  // number
  bool integer = false;
  std::optional<int64_t> minimum;  // inclusive, on the integer part (see the matcher)
  std::optional<int64_t> maximum;
  // The schema's own bounds, for numbers with a fraction.
  double bound_low = -std::numeric_limits<double>::infinity();
  double bound_high = std::numeric_limits<double>::infinity();
  bool low_exclusive = false;
  bool high_exclusive = false;
  // literals
  LiteralTrie literals;
  // text_until: the tag and its KMP failure table
  std::string tag;
  std::vector<uint32_t> tag_failure;
  // array items, any_of alternatives, sequence parts, repeat item + separator
  std::vector<uint32_t> children;
  // Where the node came from in the schema ("#/properties/x"), for messages.
  std::string path;
};

struct GrammarLimits {
  uint32_t max_whitespace = 24;     // bytes of whitespace in a row (pretty-printed JSON 5 levels deep)
  uint32_t max_depth = 32;          // nesting of values (frames on the stack)
  uint32_t max_integer_digits = 15; // keeps integers exact in doubles
  uint32_t max_fraction_digits = 15;
  uint32_t max_exponent_digits = 2;
};

struct Grammar {
  std::vector<GrammarNode> nodes;
  uint32_t root = 0;
  GrammarLimits limits;

  uint32_t add(GrammarNode node) {
    nodes.push_back(std::move(node));
    return static_cast<uint32_t>(nodes.size() - 1);
  }
};

// Building blocks (grammar_builders.cpp): each adds its nodes to `grammar`
// and returns the index of the node that matches
//   - exactly `bytes`;
uint32_t add_literal(Grammar& grammar, std::string_view bytes);
//   - free text up to and including `tag` (text_until);
uint32_t add_text_until(Grammar& grammar, std::string_view tag);
//   - any JSON value / any JSON object (json_object mode).
uint32_t add_any_value(Grammar& grammar);
uint32_t add_any_object(Grammar& grammar);

}  // namespace citadel::runtime::structured
