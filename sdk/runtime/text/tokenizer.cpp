// Tokenizer: tokenizer.json parsing, encode (added tokens -> pre-tokenizer ->
// BPE -> post-processor) and decode (byte-level / byte-fallback).
#include "runtime/text/tokenizer.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/added_tokens.h"
#include "runtime/text/bpe_model.h"
#include "runtime/text/nfc.h"
#include "runtime/text/pre_tokenizer.h"
#include "runtime/text/utf8.h"

#include <unordered_set>

namespace citadel::runtime {
namespace json = boost::json;

namespace {

// Reads the "normalizer": null, NFC, or a Sequence of those; sets `nfc`.
void read_normalizer(const json::value& spec, const std::string& source, bool& nfc) {
  if (spec.is_null()) return;
  const std::string where = source + ": normalizer";
  const auto& object = as_object(spec, where);
  const std::string type = required_string(object, "type", where);
  if (type == "Sequence") {
    const auto* list = object.if_contains("normalizers");
    if (list != nullptr && list->is_array()) {
      for (const auto& item : list->get_array()) read_normalizer(item, source, nfc);
    }
    return;
  }
  if (type == "NFC") {
    nfc = true;
    return;
  }
  throw_unsupported(where + ": unsupported normalizer type \"" + type + "\"");
}

// Whether `token` is "<0xAB>"; sets `byte`.
bool parse_byte_token(const std::string& token, uint8_t& byte) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return false;
  unsigned value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = token[static_cast<size_t>(i)];
    value <<= 4;
    if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
    else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
    else return false;
  }
  byte = static_cast<uint8_t>(value);
  return true;
}

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  BpeModel model;
  PreTokenizer pre_tokenizer;
  AddedTokens added;
  bool nfc = false;
  std::unordered_set<int32_t> special_ids;
  // Post-processing of a single sequence: ids before and after it.
  std::vector<int32_t> prefix_ids, suffix_ids;
  // Decoding.
  bool decode_byte_level = false;
  bool decode_byte_fallback = false;
  std::vector<std::string> token_bytes;  // by id

  Impl(const json::object& root, const std::string& src)
      : source(src),
        model(root.contains("model") ? root.at("model") : json::value(), src),
        pre_tokenizer(root.contains("pre_tokenizer") ? root.at("pre_tokenizer") : json::value(), src) {
    if (root.contains("normalizer")) read_normalizer(root.at("normalizer"), src, nfc);
    read_added_tokens(root);
    if (root.contains("post_processor")) read_post_processor(root.at("post_processor"));
    if (root.contains("decoder")) read_decoder(root.at("decoder"));
    if (!root.contains("decoder") || root.at("decoder").is_null()) {
      decode_byte_level = pre_tokenizer.byte_level();
    }
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
      const std::string& existing = model.id_to_token(token.id);
      if (existing.empty()) model.add_token(token.id, token.content);
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

  void read_decoder(const json::value& spec) {
    if (spec.is_null()) return;
    const std::string where = source + ": decoder";
    const auto& object = as_object(spec, where);
    const std::string type = required_string(object, "type", where);
    if (type == "Sequence") {
      const auto* list = object.if_contains("decoders");
      if (list == nullptr || !list->is_array()) throw_invalid(where + ": Sequence needs \"decoders\"");
      for (const auto& item : list->get_array()) read_decoder(item);
    } else if (type == "ByteLevel") {
      decode_byte_level = true;
    } else if (type == "ByteFallback") {
      decode_byte_fallback = true;
    } else if (type == "Fuse") {
      // Joining token strings is what decode does anyway.
    } else {
      throw_unsupported(where + ": unsupported decoder type \"" + type + "\"");
    }
  }

  void build_token_bytes() {
    token_bytes.resize(model.id_limit());
    std::unordered_set<int32_t> added_ids;
    for (const auto& token : added.tokens()) added_ids.insert(token.id);
    for (size_t id = 0; id < token_bytes.size(); ++id) {
      const std::string& token = model.id_to_token(static_cast<int32_t>(id));
      std::string& bytes = token_bytes[id];
      uint8_t byte = 0;
      if (added_ids.count(static_cast<int32_t>(id)) != 0) {
        bytes = token;
      } else if (decode_byte_fallback && parse_byte_token(token, byte)) {
        bytes.assign(1, static_cast<char>(byte));
      } else if (!(decode_byte_level && utf8::unicode_to_bytes(token, bytes))) {
        bytes = token;
      }
    }
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
    const std::string normalized = impl_->nfc ? nfc_normalize(raw.text) : std::string(raw.text);
    for (const TextSegment& segment : impl_->added.split(normalized, true)) {
      if (segment.token_id >= 0) {
        ids.push_back(segment.token_id);
        continue;
      }
      for (const std::string& word : impl_->pre_tokenizer.split(segment.text)) {
        if (impl_->pre_tokenizer.byte_level()) {
          impl_->model.encode_word(utf8::bytes_to_unicode_string(word), ids);
        } else {
          impl_->model.encode_word(word, ids);
        }
      }
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), impl_->suffix_ids.begin(), impl_->suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    impl_->check_id(id);
    if (skip_special_tokens && impl_->special_ids.count(id) != 0) continue;
    bytes += impl_->token_bytes[static_cast<size_t>(id)];
  }
  return utf8::repair(bytes);
}

std::string Tokenizer::token_bytes(int32_t id) const {
  impl_->check_id(id);
  return impl_->token_bytes[static_cast<size_t>(id)];
}

std::string Tokenizer::id_to_token(int32_t id) const {
  impl_->check_id(id);
  return impl_->model.id_to_token(id);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->model.token_to_id(token);
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
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamingDecoder::push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  const size_t complete = complete_utf8_prefix(pending_);
  std::string out = utf8::repair(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::flush() {
  std::string out = utf8::repair(pending_);
  pending_.clear();
  return out;
}

}  // namespace citadel::runtime
