// Tokenizer: a Hugging Face tokenizer.json, encoded and decoded exactly as
// the `tokenizers` package does, for the kinds LLMs use:
//  - byte-level BPE (GPT-2 / Llama-3 / Qwen2 / SmolLM): merges as "a b" or
//    [a, b], ignore_merges, Split (PCRE2) / ByteLevel / Digits pre-tokenizers;
//  - SentencePiece-style BPE with byte fallback (Llama-2, TinyLlama, Mistral):
//    <0xAB> tokens, fuse_unk, Prepend/Replace normalizers or a Metaspace
//    pre-tokenizer, Replace/ByteFallback/Fuse/Strip decoders;
//  - Unigram (T5, UMT5): scored pieces, Viterbi, the Precompiled
//    (SentencePiece charsmap) normalizer, WhitespaceSplit + Metaspace.
// Also: added tokens (special or not, lstrip/rstrip/single_word/normalized),
// the NFC, NFKC, Strip and Replace normalizers, TemplateProcessing for the BOS/EOS
// that encode(..., add_special_tokens=true) adds. Other model, normalizer,
// pre-tokenizer or decoder types are rejected with an error. GGUF vocabularies
// are built by make_tokenizer_from_gguf_vocab (gguf_vocab.h). Immutable after
// construction, so one instance may be used from many threads.
// Used by plugins (llm-gptq, deepseek-ocr) to encode prompts and decode output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class value;
}

namespace citadel::runtime {

class Tokenizer {
 public:
  // Reads tokenizer.json; throws RuntimeError naming the file and field for
  // anything malformed or unsupported (e.g. a non-BPE model).
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  // Same from text; `source` names it in errors.
  static Tokenizer from_json(std::string_view json, const std::string& source);
  // Same from parsed JSON (e.g. built by make_tokenizer_from_gguf_vocab).
  static Tokenizer from_json_value(const boost::json::value& root, const std::string& source);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text (UTF-8) to ids. With add_special_tokens the post-processor's tokens
  // (e.g. Llama-3's <|begin_of_text|>) are added; Qwen2 adds none.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Ids to text. Incomplete UTF-8 at the end or between tokens is replaced by
  // U+FFFD like HF's decode; skip_special_tokens drops special added tokens.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The raw bytes a token stands for inside a text (byte-level decoded; <0xAB>
  // -> one byte; "▁" -> space; added tokens -> their content). Throws for an
  // id outside the vocabulary.
  std::string token_bytes(int32_t id) const;
  // The token's string as in the vocabulary (e.g. "Ġthe").
  std::string id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Highest id + 1 over the vocabulary and added tokens.
  size_t vocab_size() const;
  bool is_special(int32_t id) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  friend class StreamingDecoder;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of token ids into text pieces that contain only complete
// UTF-8 characters: bytes of a character split across tokens are held back
// until it completes. The pieces add up to decode() of the ids, except that
// after a byte-fallback run that is not valid UTF-8 the characters of that
// run already streamed stay (HF replaces the whole run with U+FFFDs). Used
// by plugins to stream generated text.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  // Text that became complete with this token (possibly empty).
  std::string push(int32_t id);
  // What is left at the end of the stream (invalid bytes as U+FFFD).
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  bool first_ = true;   // the next token starts the text (Metaspace decoders)
  size_t strip_left_;   // leading characters a Strip decoder still removes
  std::string end_byte_run();
  std::string strip_start(std::string out);

  std::string pending_;       // bytes of an unfinished character
  bool run_invalid_ = false;  // the current <0xAB> run is not UTF-8
};

// Length of the longest prefix of `bytes` made of complete, valid UTF-8
// sequences, allowing an incomplete (but so far valid) sequence at the end to
// be excluded. Exposed for StreamingDecoder's tests and stop-string handling.
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace citadel::runtime
