// Decoder: the "decoder" of a tokenizer.json, turning token strings back into
// text as HF's decoders do: ByteLevel (GPT-2 byte map), ByteFallback (runs of
// <0xAB> tokens to bytes; a run that is not valid UTF-8 gives one U+FFFD per
// byte), Fuse, Replace (string or regex), Strip (per token) and Metaspace
// ("▁" to space, the first token's dropped when a prefix was prepended), and
// Sequence of these. Also gives the per-token text and stream-start rule that
// StreamingDecoder uses. Immutable; used by the Tokenizer; thread-safe.
#pragma once

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class Decoder {
 public:
  // `spec` may be null: then tokens are decoded byte-level when
  // `byte_level_pre_tokenizer`, else joined with spaces (as HF). Errors name
  // `source`.
  Decoder(const boost::json::value& spec, const std::string& source, bool byte_level_pre_tokenizer);
  ~Decoder();

  // Whether decoding is just the concatenation of per-token bytes made valid
  // UTF-8 (ByteLevel decoders): the Tokenizer's fast path.
  bool byte_level() const { return byte_level_; }
  // Whether token pieces are raw bytes (a ByteLevel step), so that a
  // character may be split across them.
  bool byte_pieces() const { return byte_pieces_; }
  // Whether <0xAB> tokens decode to bytes (a ByteFallback step).
  bool byte_fallback() const { return byte_fallback_; }
  // HF decode of the token strings (ids already mapped, specials skipped).
  std::string decode(std::vector<std::string> tokens) const;
  // The bytes one token contributes when streaming (`first`: the first token
  // of the stream), before the stream-start strip.
  std::string token_piece(std::string_view token, bool first) const;
  // How many leading `stream_strip_char()` characters a Strip after Fuse
  // removes from the start of the decoded text (0 if none).
  size_t stream_strip_count() const { return stream_strip_count_; }
  const std::string& stream_strip_char() const { return stream_strip_char_; }

 private:
  struct Step;
  void add_step(const boost::json::value& spec, const std::string& source);

  std::vector<std::unique_ptr<Step>> steps_;
  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool byte_pieces_ = false;
  bool join_with_spaces_ = false;
  size_t stream_strip_count_ = 0;
  std::string stream_strip_char_;
};

}  // namespace citadel::runtime
