// PreTokenizer steps over PCRE2.
#include "runtime/text/pre_tokenizer.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/utf8.h"

namespace citadel::runtime {
namespace json = boost::json;

namespace {

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };

SplitBehavior parse_behavior(const std::string& text, const std::string& where) {
  if (text == "Isolated") return SplitBehavior::isolated;
  if (text == "Removed") return SplitBehavior::removed;
  if (text == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (text == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (text == "Contiguous") return SplitBehavior::contiguous;
  throw_unsupported(where + ": unsupported Split behavior \"" + text + "\"");
}

// Splits `piece` at the matches of `regex` according to `behavior`; the
// first output piece keeps `at_start` when it begins where `piece` begins.
void split_piece(const Pcre2Regex& regex, SplitBehavior behavior, bool invert, const std::string& piece,
                 bool at_start, std::vector<PreTokenizer::Piece>& out) {
  const size_t first_out = out.size();
  size_t first_begin = std::string::npos;  // where the first output piece begins in `piece`
  struct Segment {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Segment> segments;
  size_t last = 0;
  for (const auto& [begin, end] : regex.find_all(piece)) {
    if (begin > last) segments.push_back({last, begin, false});
    segments.push_back({begin, end, true});
    last = end;
  }
  if (last < piece.size()) segments.push_back({last, piece.size(), false});
  if (invert) {
    for (auto& s : segments) s.is_match = !s.is_match;
  }
  auto text = [&](const Segment& s) { return piece.substr(s.begin, s.end - s.begin); };
  auto emit = [&](std::string&& text_piece, size_t begin) {
    if (out.size() == first_out) first_begin = begin;
    out.push_back({std::move(text_piece), false});
  };
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const auto& s : segments) emit(text(s), s.begin);
      break;
    case SplitBehavior::removed:
      for (const auto& s : segments) {
        if (!s.is_match) emit(text(s), s.begin);
      }
      break;
    case SplitBehavior::merged_with_previous: {
      std::string current;
      for (const auto& s : segments) {
        current += text(s);
        if (s.is_match) {
          emit(std::move(current), 0);
          current.clear();
        }
      }
      if (!current.empty()) emit(std::move(current), 0);
      break;
    }
    case SplitBehavior::merged_with_next: {
      std::string current;
      for (const auto& s : segments) {
        if (s.is_match && !current.empty()) {
          emit(std::move(current), 0);
          current.clear();
        }
        current += text(s);
      }
      if (!current.empty()) emit(std::move(current), 0);
      break;
    }
    case SplitBehavior::contiguous: {
      std::string current;
      bool current_is_match = false;
      for (const auto& s : segments) {
        if (!current.empty() && s.is_match != current_is_match) {
          emit(std::move(current), 0);
          current.clear();
        }
        current += text(s);
        current_is_match = s.is_match;
      }
      if (!current.empty()) emit(std::move(current), 0);
      break;
    }
  }
  if (out.size() > first_out) out[first_out].at_start = at_start && first_begin == 0;
}

}  // namespace

enum class PrependScheme { always, first, never };

struct PreTokenizer::Step {
  enum class Kind { split, byte_level, metaspace };
  Kind kind = Kind::split;
  std::unique_ptr<Pcre2Regex> regex;
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  bool add_prefix_space = false;  // byte_level only
  std::string replacement;        // metaspace: "▁"
  PrependScheme prepend = PrependScheme::always;

  void apply(std::vector<Piece>& pieces) const {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 2);
    for (auto& piece : pieces) {
      if (kind == Kind::byte_level && add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) {
        piece.text.insert(piece.text.begin(), ' ');
      }
      if (kind == Kind::metaspace) {
        // As HF's Metaspace: spaces become the replacement, which is
        // prepended unless the piece starts with it ("first": only to the
        // piece that starts the input).
        std::string replaced;
        for (char c : piece.text) {
          if (c == ' ') replaced += replacement;
          else replaced.push_back(c);
        }
        const bool starts_with = replaced.compare(0, replacement.size(), replacement) == 0;
        if (!starts_with && (prepend == PrependScheme::always || (prepend == PrependScheme::first && piece.at_start))) {
          replaced.insert(0, replacement);
        }
        piece.text = std::move(replaced);
      }
      if (regex) {
        split_piece(*regex, behavior, invert, piece.text, piece.at_start, out);
      } else {
        out.push_back(std::move(piece));
      }
    }
    pieces = std::move(out);
  }
};

PrependScheme parse_prepend_scheme(const json::object& object, const std::string& where) {
  if (auto scheme = optional_string(object, "prepend_scheme", where)) {
    if (*scheme == "always") return PrependScheme::always;
    if (*scheme == "first") return PrependScheme::first;
    if (*scheme == "never") return PrependScheme::never;
    throw_invalid(where + ": unknown prepend_scheme \"" + *scheme + "\"");
  }
  // Files from before prepend_scheme: add_prefix_space.
  return optional_bool(object, "add_prefix_space", where).value_or(true) ? PrependScheme::always
                                                                         : PrependScheme::never;
}

PreTokenizer::PreTokenizer(const json::value& spec, const std::string& source) {
  if (!spec.is_null()) add_step(spec, source);
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::add_step(const json::value& spec, const std::string& source) {
  const std::string where = source + ": pre_tokenizer";
  const auto& object = as_object(spec, where);
  const std::string type = required_string(object, "type", where);
  if (byte_level_) {
    throw_unsupported(where + ": a " + type + " step after ByteLevel is not supported");
  }
  if (type == "Sequence") {
    const auto* list = object.if_contains("pretokenizers");
    if (list == nullptr || !list->is_array()) {
      throw_invalid(where + ": Sequence needs a \"pretokenizers\" array");
    }
    for (const auto& item : list->get_array()) add_step(item, source);
    return;
  }
  auto step = std::make_unique<Step>();
  if (type == "Split") {
    const auto* pattern = object.if_contains("pattern");
    if (pattern == nullptr || !pattern->is_object()) {
      throw_invalid(where + ": Split needs a \"pattern\" object");
    }
    const auto& p = pattern->get_object();
    if (auto regex = optional_string(p, "Regex", where + ".pattern")) {
      step->regex = std::make_unique<Pcre2Regex>(*regex, false, source);
    } else if (auto literal = optional_string(p, "String", where + ".pattern")) {
      step->regex = std::make_unique<Pcre2Regex>(*literal, true, source);
    } else {
      throw_invalid(where + ": Split pattern needs \"Regex\" or \"String\"");
    }
    step->behavior = parse_behavior(optional_string(object, "behavior", where).value_or("Isolated"), where);
    step->invert = optional_bool(object, "invert", where).value_or(false);
  } else if (type == "Digits") {
    const bool individual = optional_bool(object, "individual_digits", where).value_or(false);
    // Rust's char::is_numeric: the Unicode N categories (Nd, Nl, No).
    step->regex = std::make_unique<Pcre2Regex>("\\p{N}", false, source);
    step->behavior = individual ? SplitBehavior::isolated : SplitBehavior::contiguous;
  } else if (type == "ByteLevel") {
    step->kind = Step::Kind::byte_level;
    step->add_prefix_space = optional_bool(object, "add_prefix_space", where).value_or(true);
    if (optional_bool(object, "use_regex", where).value_or(true)) {
      step->regex = std::make_unique<Pcre2Regex>(kGpt2Pattern, false, source);
    }
    byte_level_ = true;
  } else if (type == "Metaspace") {
    step->kind = Step::Kind::metaspace;
    step->replacement = optional_string(object, "replacement", where).value_or("\u2581");
    if (utf8::characters(step->replacement).size() != 1) {
      throw_invalid(where + ": Metaspace replacement must be one character");
    }
    step->prepend = parse_prepend_scheme(object, where);
    if (optional_bool(object, "split", where).value_or(true)) {
      step->regex = std::make_unique<Pcre2Regex>(step->replacement, true, source);
      step->behavior = SplitBehavior::merged_with_next;
    }
  } else if (type == "WhitespaceSplit") {
    step->regex = std::make_unique<Pcre2Regex>("\\s+", false, source);
    step->behavior = SplitBehavior::removed;
  } else {
    throw_unsupported(where + ": unsupported pre-tokenizer type \"" + type + "\"");
  }
  steps_.push_back(std::move(step));
}

std::vector<PreTokenizer::Piece> PreTokenizer::split(std::string_view text, bool at_start) const {
  std::vector<Piece> pieces;
  if (text.empty()) return pieces;
  pieces.push_back({std::string(text), at_start});
  for (const auto& step : steps_) step->apply(pieces);
  std::erase_if(pieces, [](const Piece& p) { return p.text.empty(); });
  return pieces;
}

}  // namespace citadel::runtime
