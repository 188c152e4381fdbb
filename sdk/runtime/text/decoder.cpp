// Decoder steps.
#include "runtime/text/decoder.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/regex.h"
#include "runtime/text/replace_pattern.h"
#include "runtime/text/tokenizer_model.h"
#include "runtime/text/utf8.h"

namespace citadel::runtime {
namespace json = boost::json;

namespace {

std::string replace_all(const Pcre2Regex& pattern, std::string_view text, const std::string& content) {
  std::string out;
  size_t last = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    out.append(text.substr(last, begin - last));
    out += content;
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

// The token as bytes through the GPT-2 byte map (kept as is when some
// character is not in the map, as HF).
std::string byte_level_bytes(std::string_view token) {
  std::string bytes;
  if (!utf8::unicode_to_bytes(token, bytes)) bytes.assign(token);
  return bytes;
}

}  // namespace

struct Decoder::Step {
  enum class Kind { byte_level, byte_fallback, fuse, replace, strip, metaspace };
  Kind kind = Kind::fuse;
  std::unique_ptr<Pcre2Regex> pattern;  // replace
  std::string content;                  // replace: the replacement; strip: the character; metaspace: "▁"
  size_t start = 0, stop = 0;           // strip
  bool drop_first = true;               // metaspace: prepend_scheme is not "never"

  void apply(std::vector<std::string>& tokens) const {
    switch (kind) {
      case Kind::byte_level: {
        std::string bytes;
        for (const auto& token : tokens) bytes += byte_level_bytes(token);
        tokens.assign(1, utf8::repair(bytes));
        return;
      }
      case Kind::byte_fallback: {
        std::vector<std::string> out;
        std::string run;  // bytes of consecutive byte tokens
        size_t run_tokens = 0;
        auto flush = [&] {
          if (run_tokens == 0) return;
          if (utf8::repair(run) == run) {
            out.push_back(run);
          } else {
            for (size_t i = 0; i < run_tokens; ++i) out.emplace_back("\xef\xbf\xbd");
          }
          run.clear();
          run_tokens = 0;
        };
        for (auto& token : tokens) {
          uint8_t byte = 0;
          if (parse_byte_token(token, byte)) {
            run.push_back(static_cast<char>(byte));
            ++run_tokens;
          } else {
            flush();
            out.push_back(std::move(token));
          }
        }
        flush();
        tokens = std::move(out);
        return;
      }
      case Kind::fuse: {
        std::string joined;
        for (const auto& token : tokens) joined += token;
        tokens.assign(1, std::move(joined));
        return;
      }
      case Kind::replace:
        for (auto& token : tokens) token = replace_all(*pattern, token, content);
        return;
      case Kind::strip:
        for (auto& token : tokens) token = strip(token);
        return;
      case Kind::metaspace:
        for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = metaspace(tokens[i], i == 0);
        return;
    }
  }

  std::string strip(std::string_view token) const {
    const auto characters = utf8::characters(token);
    size_t first = 0, last = characters.size();
    while (first < start && first < last && characters[first] == content) ++first;
    for (size_t i = 0; i < stop && last > first && characters[last - 1] == content; ++i) --last;
    std::string out;
    for (size_t i = first; i < last; ++i) out.append(characters[i]);
    return out;
  }

  // As HF's Metaspace decoder: "▁" becomes a space, except in the first
  // token, where it is dropped (unless prepend_scheme is "never").
  std::string metaspace(std::string_view token, bool first) const {
    std::string out;
    size_t at = 0;
    while (at < token.size()) {
      if (token.compare(at, content.size(), content) == 0) {
        if (!(first && drop_first)) out.push_back(' ');
        at += content.size();
      } else {
        out.push_back(token[at++]);
      }
    }
    return out;
  }
};

Decoder::Decoder(const json::value& spec, const std::string& source, bool byte_level_pre_tokenizer) {
  if (spec.is_null()) {
    byte_level_ = byte_pieces_ = byte_level_pre_tokenizer;
    join_with_spaces_ = !byte_level_pre_tokenizer;
    return;
  }
  add_step(spec, source);
  byte_level_ = !steps_.empty() && steps_.front()->kind == Step::Kind::byte_level;
  for (const auto& step : steps_) byte_level_ = byte_level_ && step->kind == Step::Kind::byte_level;
  // A Strip after a Fuse strips the start of the whole text.
  bool fused = false;
  for (const auto& step : steps_) {
    if (step->kind == Step::Kind::byte_fallback) byte_fallback_ = true;
    if (step->kind == Step::Kind::byte_level) byte_pieces_ = true;
    if (step->kind == Step::Kind::fuse) fused = true;
    if (fused && step->kind == Step::Kind::strip) {
      stream_strip_count_ = step->start;
      stream_strip_char_ = step->content;
    }
  }
}

Decoder::~Decoder() = default;

void Decoder::add_step(const json::value& spec, const std::string& source) {
  const std::string where = source + ": decoder";
  const auto& object = as_object(spec, where);
  const std::string type = required_string(object, "type", where);
  if (type == "Sequence") {
    const auto* list = object.if_contains("decoders");
    if (list == nullptr || !list->is_array()) throw_invalid(where + ": Sequence needs \"decoders\"");
    for (const auto& item : list->get_array()) add_step(item, source);
    return;
  }
  auto step = std::make_unique<Step>();
  if (type == "ByteLevel") {
    step->kind = Step::Kind::byte_level;
  } else if (type == "ByteFallback") {
    step->kind = Step::Kind::byte_fallback;
  } else if (type == "Fuse") {
    step->kind = Step::Kind::fuse;
  } else if (type == "Replace") {
    step->kind = Step::Kind::replace;
    step->content = required_string(object, "content", where);
    step->pattern = read_replace_pattern(object, where, source);
  } else if (type == "Strip") {
    step->kind = Step::Kind::strip;
    step->content = required_string(object, "content", where);
    if (utf8::characters(step->content).size() != 1) throw_invalid(where + ": Strip content must be one character");
    step->start = static_cast<size_t>(optional_int(object, "start", where).value_or(0));
    step->stop = static_cast<size_t>(optional_int(object, "stop", where).value_or(0));
  } else if (type == "Metaspace") {
    step->kind = Step::Kind::metaspace;
    step->content = optional_string(object, "replacement", where).value_or("\u2581");
    if (auto scheme = optional_string(object, "prepend_scheme", where)) {
      step->drop_first = *scheme != "never";
    } else {
      step->drop_first = optional_bool(object, "add_prefix_space", where).value_or(true);
    }
  } else {
    throw_unsupported(where + ": unsupported decoder type \"" + type + "\"");
  }
  steps_.push_back(std::move(step));
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  if (join_with_spaces_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i == 0 ? "" : " ") + tokens[i];
    return out;
  }
  for (const auto& step : steps_) step->apply(tokens);
  std::string out;
  for (const auto& token : tokens) out += token;
  return out;
}

std::string Decoder::token_piece(std::string_view token, bool first) const {
  if (byte_level_) return byte_level_bytes(token);
  if (join_with_spaces_) {
    std::string piece = first ? std::string() : std::string(" ");
    piece += token;
    return piece;
  }
  // The per-token steps; Fuse and a Strip after it act on the stream (see
  // stream_strip_count), ByteFallback on one token is its byte.
  std::string piece(token);
  bool fused = false;
  for (const auto& step : steps_) {
    switch (step->kind) {
      case Step::Kind::byte_level:
        piece = byte_level_bytes(piece);
        break;
      case Step::Kind::byte_fallback:
        if (uint8_t byte = 0; parse_byte_token(piece, byte)) piece.assign(1, static_cast<char>(byte));
        break;
      case Step::Kind::fuse:
        fused = true;
        break;
      case Step::Kind::replace:
        piece = replace_all(*step->pattern, piece, step->content);
        break;
      case Step::Kind::strip:
        if (!fused) piece = step->strip(piece);
        break;
      case Step::Kind::metaspace:
        piece = step->metaspace(piece, first && !fused);
        break;
    }
  }
  return piece;
}

}  // namespace citadel::runtime
