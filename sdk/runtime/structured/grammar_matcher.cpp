// GrammarMatcher: the byte-level pushdown automaton (see grammar_matcher.h).
#include "runtime/structured/grammar_matcher.h"
#include "runtime/structured/matcher_phases.h"
#include "runtime/structured/vocabulary_trie.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace citadel::runtime::structured {

std::span<const Frame> StateSet::stack(size_t index) const {
  const uint32_t begin = index == 0 ? 0 : ends_[index - 1];
  return {frames_.data() + begin, ends_[index] - begin};
}

void StateSet::add(std::span<const Frame> stack) {
  for (size_t i = 0; i < size(); ++i) {
    const std::span<const Frame> other = this->stack(i);
    if (other.size() == stack.size() &&
        (stack.empty() || std::memcmp(other.data(), stack.data(), stack.size() * sizeof(Frame)) == 0))
      return;
  }
  frames_.insert(frames_.end(), stack.begin(), stack.end());
  ends_.push_back(static_cast<uint32_t>(frames_.size()));
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {}

StateSet GrammarMatcher::initial() const {
  StateSet state;
  std::vector<Frame> stack;
  push_node(stack, grammar_->root, -1, state);
  return state;
}

bool GrammarMatcher::advance(const StateSet& from, uint8_t byte, StateSet& to) {
  to.clear();
  for (size_t i = 0; i < from.size(); ++i) {
    const std::span<const Frame> stack = from.stack(i);
    scratch_.assign(stack.begin(), stack.end());
    run(scratch_, byte, to);
  }
  return !to.empty();
}

bool GrammarMatcher::can_end(const StateSet& state) {
  for (size_t i = 0; i < state.size(); ++i) {
    const std::span<const Frame> stack = state.stack(i);
    if (stack.empty()) return true;
    scratch_.assign(stack.begin(), stack.end());
    end_scratch_.clear();
    run(scratch_, kEnd, end_scratch_);
    if (!end_scratch_.empty()) return true;
  }
  return false;
}

bool GrammarMatcher::is_terminated(const StateSet& state) {
  for (size_t i = 0; i < state.size(); ++i)
    if (!state.stack(i).empty()) return false;
  return !state.empty();
}

int GrammarMatcher::free_run(const StateSet& state) const {
  if (state.size() != 1 || state.stack(0).empty()) return -1;
  const Frame& top = state.stack(0).back();
  const GrammarNode& node = grammar_->nodes[top.node];
  if (node.kind == NodeKind::string && top.phase == kStringBody && top.b == 0 &&
      node.max_length == std::numeric_limits<uint32_t>::max())
    return VocabularyTrie::kStringRun;
  if (node.kind == NodeKind::text_until && top.a == 0 && !node.tag.empty() && node.tag[0] == '<')
    return VocabularyTrie::kTextRun;
  return -1;
}

void GrammarMatcher::continue_with(std::vector<Frame>& stack, int pending, StateSet& out) const {
  if (pending < 0) out.add(stack);
  else run(stack, pending, out);
}

void GrammarMatcher::push_node(std::vector<Frame>& stack, uint32_t index, int pending, StateSet& out) const {
  const GrammarNode& node = grammar_->nodes[index];
  if (node.kind == NodeKind::any_of) {
    for (uint32_t child : node.children) {
      std::vector<Frame> copy = stack;
      push_node(copy, child, pending, out);
    }
    return;
  }
  if (stack.size() >= grammar_->limits.max_depth) return;
  Frame frame;
  frame.node = index;
  if (node.kind == NodeKind::sequence || node.kind == NodeKind::repeat) {
    frame.a = node.kind == NodeKind::sequence ? 1 : 0;
    stack.push_back(frame);
    push_node(stack, node.children[0], pending, out);
    return;
  }
  stack.push_back(frame);
  continue_with(stack, pending, out);
}

void GrammarMatcher::run(std::vector<Frame>& stack, int byte, StateSet& out) const {
  if (stack.empty()) {
    if (byte == kEnd) out.add(stack);
    return;
  }
  const Action action = feed(stack.back(), byte);
  switch (action.act) {
    case Act::reject: return;
    case Act::consumed: out.add(stack); return;
    case Act::done:
      stack.pop_back();
      settle(stack, -1, out);
      return;
    case Act::end_before:
      stack.pop_back();
      settle(stack, byte, out);
      return;
    case Act::push: push_node(stack, action.child, byte, out); return;
    case Act::finish_all: out.add(std::span<const Frame>()); return;
  }
}

void GrammarMatcher::settle(std::vector<Frame>& stack, int pending, StateSet& out) const {
  if (stack.empty()) {
    if (pending < 0) out.add(stack);
    else run(stack, pending, out);
    return;
  }
  const Action action = child_done(stack.back());
  switch (action.act) {
    case Act::consumed: continue_with(stack, pending, out); return;
    case Act::done:
      stack.pop_back();
      settle(stack, pending, out);
      return;
    case Act::push: push_node(stack, action.child, pending, out); return;
    default: return;
  }
}

GrammarMatcher::Action GrammarMatcher::child_done(Frame& frame) const {
  const GrammarNode& node = grammar_->nodes[frame.node];
  switch (node.kind) {
    case NodeKind::object:
      if (frame.phase == kObjectFreeKey) frame.phase = kObjectAfterKey;
      return {Act::consumed};
    case NodeKind::sequence:
      if (frame.a < node.children.size()) return {Act::push, node.children[frame.a++]};
      return {Act::done};
    case NodeKind::repeat:
      if (frame.phase == kRepeatSeparator) {
        frame.phase = kRepeatItem;
        return {Act::push, node.children[0]};
      }
      ++frame.a;
      frame.phase = kRepeatBetween;
      return {Act::consumed};
    default: return {Act::consumed};  // arrays keep their phase (set before the push)
  }
}

GrammarMatcher::Action GrammarMatcher::feed(Frame& frame, int byte) const {
  const GrammarNode& node = grammar_->nodes[frame.node];
  switch (node.kind) {
    case NodeKind::object: return feed_object(frame, node, byte);
    case NodeKind::array: return feed_array(frame, node, byte);
    case NodeKind::string: return feed_string(frame, node, byte);
    case NodeKind::number: return feed_number(frame, node, byte);
    case NodeKind::literals: return feed_literals(frame, node, byte);
    case NodeKind::repeat: return feed_repeat(frame, node, byte);
    case NodeKind::text_until: return feed_text_until(frame, node, byte);
    default: return {Act::reject};
  }
}

}  // namespace citadel::runtime::structured
