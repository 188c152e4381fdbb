// Tokenizer: tokenizer.json parsing, encode (added tokens -> normalizer ->
// pre-tokenizer -> model -> post-processor), decode (decoder.h) and the
// streaming decoder.
#include "runtime/text/tokenizer.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/added_tokens.h"
#include "runtime/text/decoder.h"
#include "runtime/text/normalizer.h"
#include "runtime/text/pre_tokenizer.h"
#include "runtime/text/tokenizer_model.h"
#include "runtime/text/utf8.h"

#include <unordered_set>

namespace citadel::runtime {
namespace json = boost::json;

namespace {
const json::value& member(const json::object& root, std::string_view key) {
  static const json::value null;
  const auto* value = root.if_contains(key);
  return value == nullptr ? null : *value;
}
}  // namespace

struct Tokenizer::Impl {
  std::string source;
  std::unique_ptr<TokenizerModel> model;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  AddedTokens added;
  std::unordered_set<int32_t> special_ids;
  std::vector<bool> is_added;               // by id
  std::vector<std::string> added_content;  // by id, for added tokens
  // Post-processing of a single sequence: ids before and after it.
  std::vector<int32_t> prefix_ids, suffix_ids;
  std::vector<std::string> token_bytes;  // by id: what streaming emits for it

  Impl(const json::object& root, const std::string& src)
      : source(src),
        model(make_tokenizer_model(member(root, "model"), src)),
        normalizer(member(root, "normalizer"), src),
        pre_tokenizer(member(root, "pre_tokenizer"), src),
        decoder(member(root, "decoder"), src, pre_tokenizer.byte_level()) {
    read_added_tokens(root);
    read_post_processor(member(root, "post_processor"));
    build_token_bytes();
  }

  void read_added_tokens(const json::object& root) {
    const auto* list = root.if_contains("added_tokens");
    if (list == nullptr || list->is_null()) return;
    if (!list->is_array()) throw_invalid(source + ": \"added_tokens\" must be an array");
    for (const auto& item : list->get_array()) {
      const std::string where = source + ": added_tokens";
      const auto& object = as_object(item, where);
      AddedToken token;
      const int64_t id = required_int(object, "id", where);
      if (id < 0 || id > INT32_MAX) throw_invalid(where + ": invalid id " + std::to_string(id));
      token.id = static_cast<int32_t>(id);
      token.content = required_string(object, "content", where);
      token.special = optional_bool(object, "special", where).value_or(false);
      token.lstrip = optional_bool(object, "lstrip", where).value_or(false);
      token.rstrip = optional_bool(object, "rstrip", where).value_or(false);
      token.single_word = optional_bool(object, "single_word", where).value_or(false);
      token.normalized = optional_bool(object, "normalized", where).value_or(!token.special);
      if (token.normalized) {
        token.pattern = normalizer.normalize(token.content);
        if (token.pattern == token.content) token.pattern.clear();
      }
      model->add_token(token.id, token.content);
      if (token.special) special_ids.insert(token.id);
      added.add(std::move(token));
    }
  }

  void read_post_processor(const json::value& spec) {
    if (spec.is_null()) return;
    const std::string where = source + ": post_processor";
    const auto& object = as_object(spec, where);
    const std::string type = required_string(object, "type", where);
    if (type == "ByteLevel") return;  // offsets only
    if (type == "Sequence") {
      const auto* list = object.if_contains("processors");
      if (list == nullptr || !list->is_array()) throw_invalid(where + ": Sequence needs \"processors\"");
      for (const auto& item : list->get_array()) read_post_processor(item);
      return;
    }
    if (type != "TemplateProcessing") {
      throw_unsupported(where + ": unsupported post-processor type \"" + type + "\"");
    }
    const auto* single = object.if_contains("single");
    const auto* specials = object.if_contains("special_tokens");
    if (single == nullptr || !single->is_array()) throw_invalid(where + ": \"single\" must be an array");
    bool seen_sequence = false;
    for (const auto& piece : single->get_array()) {
      const auto& p = as_object(piece, where + ".single");
      if (p.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const auto* special = p.if_contains("SpecialToken");
      if (special == nullptr || !special->is_object()) {
        throw_invalid(where + ".single: entries must be Sequence or SpecialToken");
      }
      const std::string name = required_string(special->get_object(), "id", where + ".single");
      const json::value* entry = specials != nullptr && specials->is_object()
                                     ? specials->get_object().if_contains(name)
                                     : nullptr;
      if (entry == nullptr || !entry->is_object() || !entry->get_object().contains("ids") ||
          !entry->get_object().at("ids").is_array()) {
        throw_invalid(where + ": special token \"" + name + "\" has no \"ids\" in special_tokens");
      }
      auto& target = seen_sequence ? suffix_ids : prefix_ids;
      for (const auto& id : entry->get_object().at("ids").get_array()) {
        target.push_back(static_cast<int32_t>(number_value(id, where + ": special_tokens." + name)));
      }
    }
  }

  void build_token_bytes() {
    token_bytes.resize(model->id_limit());
    is_added.assign(token_bytes.size(), false);
    added_content.assign(token_bytes.size(), std::string());
    for (const auto& token : added.tokens()) {
      is_added[static_cast<size_t>(token.id)] = true;
      added_content[static_cast<size_t>(token.id)] = token.match_text();  // HF: the normalized content
    }
    for (size_t id = 0; id < token_bytes.size(); ++id) {
      const std::string& token = token_string(static_cast<int32_t>(id));
      // Byte-level decoding leaves added tokens as they are written.
      token_bytes[id] = decoder.byte_level() && is_added[id] ? token : decoder.token_piece(token, false);
    }
  }

  // The token's string: an added token's content, else the vocabulary's.
  const std::string& token_string(int32_t id) const {
    const auto index = static_cast<size_t>(id);
    return index < is_added.size() && is_added[index] ? added_content[index] : model->id_to_token(id);
  }

  void check_id(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= token_bytes.size()) {
      throw_invalid(source + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(token_bytes.size()));
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  const json::value root = read_json_file(tokenizer_json);
  return Tokenizer(std::make_unique<Impl>(as_object(root, tokenizer_json.string()), tokenizer_json.string()));
}

Tokenizer Tokenizer::from_json_value(const json::value& root, const std::string& source) {
  return Tokenizer(std::make_unique<Impl>(as_object(root, source), source));
}

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& source) {
  const json::value root = parse_json(text, source);
  return Tokenizer(std::make_unique<Impl>(as_object(root, source), source));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = impl_->prefix_ids;
  // As HF: tokens with normalized=false are found in the raw text; each
  // remaining piece is normalized, then searched for the other added tokens,
  // and what is left is pre-tokenized and encoded.
  for (const TextSegment& raw : impl_->added.split(text, false)) {
    if (raw.token_id >= 0) {
      ids.push_back(raw.token_id);
      continue;
    }
    const std::string normalized = impl_->normalizer.normalize(raw.text);
    const bool raw_at_start = raw.text.data() == text.data();
    for (const TextSegment& segment : impl_->added.split(normalized, true)) {
      if (segment.token_id >= 0) {
        ids.push_back(segment.token_id);
        continue;
      }
      // Metaspace's "first" prepends only to what starts the input.
      const bool at_start = raw_at_start && segment.text.data() == normalized.data();
      for (const PreTokenizer::Piece& word : impl_->pre_tokenizer.split(segment.text, at_start)) {
        if (impl_->pre_tokenizer.byte_level()) {
          impl_->model->encode_word(utf8::bytes_to_unicode_string(word.text), ids);
        } else {
          impl_->model->encode_word(word.text, ids);
        }
      }
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), impl_->suffix_ids.begin(), impl_->suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  for (int32_t id : ids) impl_->check_id(id);
  if (impl_->decoder.byte_level()) {
    std::string bytes;
    for (int32_t id : ids) {
      if (skip_special_tokens && impl_->special_ids.count(id) != 0) continue;
      bytes += impl_->token_bytes[static_cast<size_t>(id)];
    }
    return utf8::repair(bytes);
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && impl_->special_ids.count(id) != 0) continue;
    tokens.push_back(impl_->token_string(id));
  }
  return impl_->decoder.decode(std::move(tokens));
}

std::string Tokenizer::token_bytes(int32_t id) const {
  impl_->check_id(id);
  return impl_->token_bytes[static_cast<size_t>(id)];
}

std::string Tokenizer::id_to_token(int32_t id) const {
  impl_->check_id(id);
  return impl_->token_string(id);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->model->token_to_id(token);
}

size_t Tokenizer::vocab_size() const { return impl_->token_bytes.size(); }

bool Tokenizer::is_special(int32_t id) const { return impl_->special_ids.count(id) != 0; }

// --- Streaming --------------------------------------------------------------

size_t complete_utf8_prefix(std::string_view bytes) {
  // Everything is complete except a trailing sequence that is valid so far
  // but lacks continuation bytes.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(bytes[n - back]);
    if ((b & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t needed = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (needed > back && b >= 0xc2 && b <= 0xf4) {
      // Incomplete: hold it back if what is there is a valid start.
      std::string_view tail = bytes.substr(n - back);
      std::string padded(tail);
      // Pad with the smallest continuation bytes allowed after the lead and test validity.
      const uint8_t second = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
      while (padded.size() < needed) padded.push_back(static_cast<char>(padded.size() == 1 ? second : 0x80));
      if (utf8::valid_sequence_length(padded) == needed) return n - back;
    }
    return n;
  }
  return n;
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer),
      skip_special_tokens_(skip_special_tokens),
      strip_left_(tokenizer.impl_->decoder.stream_strip_count()) {}

std::string StreamingDecoder::push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_->is_special(id)) return {};
  const Tokenizer::Impl& impl = *tokenizer_->impl_;
  impl.check_id(id);
  if (impl.decoder.byte_pieces()) {
    pending_ += first_ && !impl.decoder.byte_level() ? impl.decoder.token_piece(impl.token_string(id), true)
                                                     : impl.token_bytes[static_cast<size_t>(id)];
    first_ = false;
    const size_t complete = complete_utf8_prefix(pending_);
    std::string out = utf8::repair(std::string_view(pending_).substr(0, complete));
    pending_.erase(0, complete);
    return strip_start(std::move(out));
  }
  // Piece by piece; runs of <0xAB> tokens collect in pending_ until they form
  // characters. As HF's ByteFallback, a run that turns out not to be UTF-8
  // gives one U+FFFD per byte (from there on, the rest of the run too).
  std::string out;
  const std::string& token = impl.token_string(id);
  uint8_t byte = 0;
  if (impl.decoder.byte_fallback() && parse_byte_token(token, byte)) {
    if (run_invalid_) {
      out = "\xef\xbf\xbd";
    } else {
      pending_.push_back(static_cast<char>(byte));
      const size_t complete = complete_utf8_prefix(pending_);
      const std::string_view head = std::string_view(pending_).substr(0, complete);
      if (utf8::repair(head) == head) {
        out.assign(head);
        pending_.erase(0, complete);
      } else {
        for (size_t i = 0; i < pending_.size(); ++i) out += "\xef\xbf\xbd";
        pending_.clear();
        run_invalid_ = true;
      }
    }
  } else {
    out = end_byte_run() + impl.decoder.token_piece(token, first_);
  }
  first_ = false;
  return strip_start(std::move(out));
}

std::string StreamingDecoder::end_byte_run() {
  std::string out;
  for (size_t i = 0; i < pending_.size(); ++i) out += "\xef\xbf\xbd";  // an unfinished run is invalid
  pending_.clear();
  run_invalid_ = false;
  return out;
}

std::string StreamingDecoder::strip_start(std::string out) {
  // A Strip after Fuse (Llama-2 style) removes leading characters of the text.
  const std::string& strip = tokenizer_->impl_->decoder.stream_strip_char();
  while (strip_left_ > 0 && !out.empty() && out.compare(0, strip.size(), strip) == 0) {
    out.erase(0, strip.size());
    --strip_left_;
  }
  if (!out.empty()) strip_left_ = 0;
  return out;
}

std::string StreamingDecoder::flush() {
  if (tokenizer_->impl_->decoder.byte_pieces()) {
    std::string out = utf8::repair(pending_);
    pending_.clear();
    return strip_start(std::move(out));
  }
  return strip_start(end_byte_run());
}

}  // namespace citadel::runtime
