// GrammarMatcher: runs a Grammar as a pushdown automaton over UTF-8 bytes.
// A state is a set of stacks of frames (one frame per open value; several
// stacks only while anyOf alternatives are still ambiguous). advance() moves
// a state by one byte, can_end() says whether the text so far is a complete
// match. Whitespace is allowed where JSON allows it, at most
// GrammarLimits::max_whitespace bytes in a row, never before or after the
// top-level value. Used by TokenConstraint (the vocabulary walk and the
// per-token advance) and the tests. A matcher holds scratch memory:
// use one per thread; the Grammar it points at is shared and immutable.
#pragma once

#include "runtime/structured/grammar.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace citadel::runtime::structured {

// One open value: its node and where in it the text is. Plain data without
// padding, so stacks compare with memcmp.
struct Frame {
  uint64_t value = 0;  // number: magnitude read so far
  uint32_t node = 0;
  uint32_t phase = 0;
  uint32_t a = 0;  // object: next property; array/repeat: items; string: code points; literals: trie node; sequence: next part
  uint32_t b = 0;  // object: key trie node; string: UTF-8 / escape progress; number: digits in the part
  uint32_t c = 0;  // object: current property; number: negative
  uint32_t ws = 0; // whitespace bytes in the current run
};

// A set of distinct stacks.
class StateSet {
 public:
  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::span<const Frame> stack(size_t index) const;
  void clear() {
    frames_.clear();
    ends_.clear();
  }
  // Adds a stack unless an equal one is there.
  void add(std::span<const Frame> stack);

 private:
  std::vector<Frame> frames_;
  std::vector<uint32_t> ends_;  // stack i is frames_[ends_[i-1] .. ends_[i])
};

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

  const Grammar& grammar() const { return *grammar_; }
  // The state before any byte.
  StateSet initial() const;
  // `to` = the stacks `from` reaches by `byte`; false when there are none.
  bool advance(const StateSet& from, uint8_t byte, StateSet& to);
  // Whether the text that led to `state` is a complete match.
  bool can_end(const StateSet& state);
  // Whether `state` is complete and no further byte can follow.
  static bool is_terminated(const StateSet& state);
  // Which run of bytes leaves `state` unchanged (VocabularyTrie::RunKind):
  // kStringRun when it is one stack in the body of a string without a length
  // limit, at a character boundary; kTextRun when it is one stack in free
  // text with no part of a tag opening with '<' matched; -1 otherwise.
  int free_run(const StateSet& state) const;

 private:
  // finish_all: the byte is the end and the whole match may end here.
  enum class Act : uint8_t { reject, consumed, done, end_before, push, finish_all };
  struct Action {
    Act act = Act::reject;
    uint32_t child = 0;
  };
  static constexpr int kEnd = 256;

  Action feed(Frame& frame, int byte) const;
  Action child_done(Frame& frame) const;
  Action feed_object(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_array(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_string(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_number(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_literals(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_repeat(Frame& frame, const GrammarNode& node, int byte) const;
  Action feed_text_until(Frame& frame, const GrammarNode& node, int byte) const;

  // Runs `byte` (or kEnd) through `stack`, adding the results to `out`.
  void run(std::vector<Frame>& stack, int byte, StateSet& out) const;
  // The top frame finished: tell its parents, then run `pending` (-1: none).
  void settle(std::vector<Frame>& stack, int pending, StateSet& out) const;
  // Pushes `node` (each anyOf alternative on its own copy) and continues.
  void push_node(std::vector<Frame>& stack, uint32_t node, int pending, StateSet& out) const;
  void continue_with(std::vector<Frame>& stack, int pending, StateSet& out) const;

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Frame> scratch_;
  StateSet end_scratch_;
};

}  // namespace citadel::runtime::structured
