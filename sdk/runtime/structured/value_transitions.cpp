// GrammarMatcher's byte transitions of each value kind: objects, arrays,
// strings (UTF-8 checked), numbers (bounds), literals and repeats.
#include "runtime/structured/grammar_matcher.h"
#include "runtime/structured/matcher_phases.h"

namespace citadel::runtime::structured {
namespace {

bool is_whitespace(int byte) { return byte == ' ' || byte == '\n' || byte == '\t'; }
bool is_digit(int byte) { return byte >= '0' && byte <= '9'; }
bool is_hex(int byte) {
  return is_digit(byte) || (byte >= 'a' && byte <= 'f') || (byte >= 'A' && byte <= 'F');
}

// Whether some integer whose decimal digits start with `magnitude` (sign
// `negative`, `digits` digits so far, at most `max_digits`) lies in bounds.
bool integer_viable(const GrammarNode& node, bool negative, uint64_t magnitude, uint32_t digits,
                    uint32_t max_digits, bool zero) {
  const __int128 low = node.minimum ? __int128(*node.minimum) : -(__int128(1) << 100);
  const __int128 high = node.maximum ? __int128(*node.maximum) : (__int128(1) << 100);
  __int128 scale = 1;
  for (uint32_t extra = 0; digits + extra <= max_digits; ++extra) {
    __int128 from = __int128(magnitude) * scale;
    __int128 to = from + scale - 1;
    if (negative) {
      const __int128 swap = -to;
      to = -from;
      from = swap;
    }
    if (from <= high && to >= low) return true;
    if (zero) break;  // "0" takes no more digits
    scale *= 10;
  }
  return false;
}

bool integer_in_bounds(const GrammarNode& node, bool negative, uint64_t magnitude) {
  const __int128 value = negative ? -__int128(magnitude) : __int128(magnitude);
  return (!node.minimum || value >= *node.minimum) && (!node.maximum || value <= *node.maximum);
}

}  // namespace

GrammarMatcher::Action GrammarMatcher::feed_object(Frame& frame, const GrammarNode& node, int byte) const {
  if (frame.phase != kObjectStart && frame.phase != kObjectKey && is_whitespace(byte)) {
    if (frame.ws >= grammar_->limits.max_whitespace) return {Act::reject};
    ++frame.ws;
    return {Act::consumed};
  }
  frame.ws = 0;
  const uint32_t count = static_cast<uint32_t>(node.properties.size());
  // The properties that may come next: from frame.a up to the first required one.
  auto last_allowed = [&]() -> uint32_t {
    for (uint32_t i = frame.a; i < count; ++i)
      if (node.properties[i].required) return i;
    return count == 0 ? 0 : count - 1;
  };
  auto required_left = [&] {
    for (uint32_t i = frame.a; i < count; ++i)
      if (node.properties[i].required) return true;
    return false;
  };
  auto key_viable = [&](uint32_t trie_node) {
    const std::vector<int32_t>& below = node.keys.values_below(trie_node);
    const auto at = std::lower_bound(below.begin(), below.end(), static_cast<int32_t>(frame.a));
    return at != below.end() && static_cast<uint32_t>(*at) <= last_allowed();
  };
  auto start_key = [&]() -> Action {
    if (node.free_form) {
      frame.phase = kObjectFreeKey;
      return {Act::push, node.free_key};
    }
    if (frame.a >= count) return {Act::reject};
    const int32_t next = node.keys.child(LiteralTrie::kRoot, '"');
    if (next < 0 || !key_viable(static_cast<uint32_t>(next))) return {Act::reject};
    frame.phase = kObjectKey;
    frame.b = static_cast<uint32_t>(next);
    return {Act::consumed};
  };
  switch (frame.phase) {
    case kObjectStart:
      if (byte != '{') return {Act::reject};
      frame.phase = kObjectOpen;
      return {Act::consumed};
    case kObjectOpen:
      if (byte == '}') return node.free_form || !required_left() ? Action{Act::done} : Action{Act::reject};
      if (byte == '"') return start_key();
      return {Act::reject};
    case kObjectKey: {
      if (byte == kEnd) return {Act::reject};
      const int32_t next = node.keys.child(frame.b, static_cast<uint8_t>(byte));
      if (next < 0 || !key_viable(static_cast<uint32_t>(next))) return {Act::reject};
      const int32_t property = node.keys.terminal(static_cast<uint32_t>(next));
      if (property >= 0) {
        frame.c = static_cast<uint32_t>(property);
        frame.a = frame.c + 1;
        frame.b = 0;
        frame.phase = kObjectAfterKey;
      } else {
        frame.b = static_cast<uint32_t>(next);
      }
      return {Act::consumed};
    }
    case kObjectAfterKey:
      if (byte != ':') return {Act::reject};
      frame.phase = kObjectBeforeValue;
      return {Act::consumed};
    case kObjectBeforeValue:
      if (byte == kEnd) return {Act::reject};
      frame.phase = kObjectAfterValue;
      return {Act::push, node.free_form ? node.free_value : node.properties[frame.c].value};
    case kObjectAfterValue:
      if (byte == '}') return node.free_form || !required_left() ? Action{Act::done} : Action{Act::reject};
      if (byte == ',' && (node.free_form || frame.a < count)) {
        frame.phase = kObjectAfterComma;
        return {Act::consumed};
      }
      return {Act::reject};
    case kObjectAfterComma:
      if (byte == '"') return start_key();
      return {Act::reject};
    default: return {Act::reject};
  }
}

GrammarMatcher::Action GrammarMatcher::feed_array(Frame& frame, const GrammarNode& node, int byte) const {
  if (frame.phase != kArrayStart && is_whitespace(byte)) {
    if (frame.ws >= grammar_->limits.max_whitespace) return {Act::reject};
    ++frame.ws;
    return {Act::consumed};
  }
  frame.ws = 0;
  switch (frame.phase) {
    case kArrayStart:
      if (byte != '[') return {Act::reject};
      frame.phase = kArrayOpen;
      return {Act::consumed};
    case kArrayOpen:
      if (byte == ']') return node.min_items == 0 ? Action{Act::done} : Action{Act::reject};
      if (byte == kEnd || node.max_items == 0) return {Act::reject};
      frame.a = 1;
      frame.phase = kArrayAfterValue;
      return {Act::push, node.children[0]};
    case kArrayAfterValue:
      if (byte == ']') return frame.a >= node.min_items ? Action{Act::done} : Action{Act::reject};
      if (byte == ',' && frame.a < node.max_items) {
        frame.phase = kArrayAfterComma;
        return {Act::consumed};
      }
      return {Act::reject};
    case kArrayAfterComma:
      if (byte == kEnd || byte == ']') return {Act::reject};
      ++frame.a;
      frame.phase = kArrayAfterValue;
      return {Act::push, node.children[0]};
    default: return {Act::reject};
  }
}

GrammarMatcher::Action GrammarMatcher::feed_string(Frame& frame, const GrammarNode& node, int byte) const {
  if (byte == kEnd) return {Act::reject};
  switch (frame.phase) {
    case kStringStart:
      if (byte != '"') return {Act::reject};
      frame.phase = kStringBody;
      return {Act::consumed};
    case kStringBody: {
      if (byte == '"') return frame.a >= node.min_length ? Action{Act::done} : Action{Act::reject};
      if (byte < 0x20 || frame.a >= node.max_length) return {Act::reject};
      if (byte == '\\') {
        frame.phase = kStringEscape;
        ++frame.a;
        return {Act::consumed};
      }
      if (byte < 0x80) {
        ++frame.a;
        return {Act::consumed};
      }
      // A UTF-8 lead byte: how many continuation bytes, and the range of the first.
      uint32_t more = 0, low = 0x80, high = 0xBF;
      if (byte >= 0xC2 && byte <= 0xDF) more = 1;
      else if (byte == 0xE0) more = 2, low = 0xA0;
      else if ((byte >= 0xE1 && byte <= 0xEC) || byte == 0xEE || byte == 0xEF) more = 2;
      else if (byte == 0xED) more = 2, high = 0x9F;
      else if (byte == 0xF0) more = 3, low = 0x90;
      else if (byte >= 0xF1 && byte <= 0xF3) more = 3;
      else if (byte == 0xF4) more = 3, high = 0x8F;
      else return {Act::reject};
      ++frame.a;
      frame.phase = kStringUtf8;
      frame.b = (more << 16) | (low << 8) | high;
      return {Act::consumed};
    }
    case kStringUtf8: {
      const uint32_t more = frame.b >> 16, low = (frame.b >> 8) & 0xFF, high = frame.b & 0xFF;
      if (static_cast<uint32_t>(byte) < low || static_cast<uint32_t>(byte) > high) return {Act::reject};
      if (more == 1) {
        frame.phase = kStringBody;
        frame.b = 0;
      } else {
        frame.b = ((more - 1) << 16) | (0x80 << 8) | 0xBF;
      }
      return {Act::consumed};
    }
    case kStringEscape:
      if (byte == 'u') {
        frame.phase = kStringHex;
        frame.b = 0;
        return {Act::consumed};
      }
      if (byte == '"' || byte == '\\' || byte == '/' || byte == 'b' || byte == 'f' || byte == 'n' ||
          byte == 'r' || byte == 't') {
        frame.phase = kStringBody;
        return {Act::consumed};
      }
      return {Act::reject};
    case kStringHex: {
      // No surrogates (\uD800-\uDFFF): the text must stay valid UTF-8 when decoded.
      const uint32_t digits = frame.b & 0xFF;
      if (!is_hex(byte)) return {Act::reject};
      if (digits == 0 && (byte == 'd' || byte == 'D')) frame.b |= 0x100;
      if (digits == 1 && (frame.b & 0x100) && !(byte >= '0' && byte <= '7')) return {Act::reject};
      frame.b = (frame.b & 0x100) | (digits + 1);
      if (digits + 1 == 4) {
        frame.phase = kStringBody;
        frame.b = 0;
      }
      return {Act::consumed};
    }
    default: return {Act::reject};
  }
}

GrammarMatcher::Action GrammarMatcher::feed_number(Frame& frame, const GrammarNode& node, int byte) const {
  const GrammarLimits& limits = grammar_->limits;
  const bool negative = frame.c != 0;
  const bool bounded = node.minimum || node.maximum;
  auto end_here = [&]() -> Action {
    if (bounded && !integer_in_bounds(node, negative, frame.value)) return {Act::reject};
    return {Act::end_before};
  };
  // With bounds, a fraction only when every n.xxx lies within them: [n, n+1)
  // or, negative, (-n-1, -n].
  auto fraction_fits = [&] {
    if (!bounded) return true;
    const double whole = static_cast<double>(frame.value);
    if (negative) {
      const bool low_ok = -whole - 1 >= node.bound_low;
      const bool high_ok = node.high_exclusive ? -whole < node.bound_high : -whole <= node.bound_high;
      return low_ok && high_ok;
    }
    const bool low_ok = node.low_exclusive ? whole > node.bound_low : whole >= node.bound_low;
    return low_ok && whole + 1 <= node.bound_high;
  };
  auto fraction_or_exponent = [&]() -> Action {
    if (!node.integer && byte == '.' && fraction_fits()) {
      frame.phase = kNumberDot;
      return {Act::consumed};
    }
    if (!node.integer && !bounded && (byte == 'e' || byte == 'E')) {
      frame.phase = kNumberE;
      return {Act::consumed};
    }
    if (is_digit(byte)) return {Act::reject};
    return end_here();
  };
  const int digit = byte - '0';
  switch (frame.phase) {
    case kNumberStart:
    case kNumberMinus:
      if (frame.phase == kNumberStart && byte == '-') {
        // Negative integers, or "-0.xxx" when (-1, 0] lies within the bounds.
        const bool negative_fraction = !node.integer && node.bound_low <= -1 &&
                                       (node.high_exclusive ? 0 < node.bound_high : 0 <= node.bound_high);
        if (node.minimum && *node.minimum >= 0 && !negative_fraction) return {Act::reject};
        frame.c = 1;
        frame.phase = kNumberMinus;
        return {Act::consumed};
      }
      if (!is_digit(byte)) return {Act::reject};
      if (bounded && !integer_viable(node, negative, static_cast<uint64_t>(digit), 1,
                                     limits.max_integer_digits, digit == 0))
        return {Act::reject};
      frame.value = static_cast<uint64_t>(digit);
      frame.b = 1;
      frame.phase = digit == 0 ? kNumberZero : kNumberInt;
      return {Act::consumed};
    case kNumberZero: return fraction_or_exponent();
    case kNumberInt:
      if (is_digit(byte)) {
        if (frame.b >= limits.max_integer_digits) return {Act::reject};
        const uint64_t value = frame.value * 10 + static_cast<uint64_t>(digit);
        if (bounded && !integer_viable(node, negative, value, frame.b + 1, limits.max_integer_digits, false))
          return {Act::reject};
        frame.value = value;
        ++frame.b;
        return {Act::consumed};
      }
      return fraction_or_exponent();
    case kNumberDot:
      if (!is_digit(byte)) return {Act::reject};
      frame.phase = kNumberFraction;
      frame.b = 1;
      return {Act::consumed};
    case kNumberFraction:
      if (is_digit(byte)) {
        if (frame.b >= limits.max_fraction_digits) return {Act::reject};
        ++frame.b;
        return {Act::consumed};
      }
      if (!bounded && (byte == 'e' || byte == 'E')) {
        frame.phase = kNumberE;
        return {Act::consumed};
      }
      return {Act::end_before};
    case kNumberE:
      if (byte == '+' || byte == '-') {
        frame.phase = kNumberExponentSign;
        return {Act::consumed};
      }
      [[fallthrough]];
    case kNumberExponentSign:
      if (!is_digit(byte)) return {Act::reject};
      frame.phase = kNumberExponent;
      frame.b = 1;
      return {Act::consumed};
    case kNumberExponent:
      if (is_digit(byte)) {
        if (frame.b >= limits.max_exponent_digits) return {Act::reject};
        ++frame.b;
        return {Act::consumed};
      }
      return {Act::end_before};
    default: return {Act::reject};
  }
}

GrammarMatcher::Action GrammarMatcher::feed_literals(Frame& frame, const GrammarNode& node, int byte) const {
  if (byte != kEnd) {
    const int32_t next = node.literals.child(frame.a, static_cast<uint8_t>(byte));
    if (next >= 0) {
      frame.a = static_cast<uint32_t>(next);
      if (node.literals.terminal(frame.a) >= 0 && !node.literals.has_children(frame.a)) return {Act::done};
      return {Act::consumed};
    }
  }
  if (frame.a != LiteralTrie::kRoot && node.literals.terminal(frame.a) >= 0) return {Act::end_before};
  return {Act::reject};
}

GrammarMatcher::Action GrammarMatcher::feed_repeat(Frame& frame, const GrammarNode& node, int byte) const {
  if (frame.phase != kRepeatBetween) return {Act::reject};
  if (byte == kEnd) return frame.a >= node.min_items ? Action{Act::end_before} : Action{Act::reject};
  if (frame.a >= node.max_items) return {Act::reject};
  if (node.children.size() > 1) {
    frame.phase = kRepeatSeparator;
    return {Act::push, node.children[1]};
  }
  frame.phase = kRepeatItem;
  return {Act::push, node.children[0]};
}

GrammarMatcher::Action GrammarMatcher::feed_text_until(Frame& frame, const GrammarNode& node, int byte) const {
  if (byte == kEnd) return {Act::finish_all};
  uint32_t matched = frame.a;
  while (matched > 0 && static_cast<uint8_t>(node.tag[matched]) != byte) matched = node.tag_failure[matched - 1];
  if (static_cast<uint8_t>(node.tag[matched]) == byte) ++matched;
  if (matched == node.tag.size()) return {Act::done};
  frame.a = matched;
  return {Act::consumed};
}

}  // namespace citadel::runtime::structured
