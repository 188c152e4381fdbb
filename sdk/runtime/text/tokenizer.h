// Tokenizer: Hugging Face tokenizer.json, byte-level BPE (GPT-2 / Llama-3 /
// Qwen2 / SmolLM style). Supports: merges as "a b" strings or [a, b] pairs,
// ignore_merges, added tokens (special or not; matched in the text before
// pre-tokenization), pre_tokenizer Split (PCRE2 regex, UTF + UCP), ByteLevel
// (add_prefix_space, use_regex), Digits and Sequence of those, byte_fallback tokens
// (<0xAB>), post_processor TemplateProcessing / ByteLevel / Sequence for the
// BOS/EOS that encode(..., add_special_tokens=true) adds, and the NFC
// normalizer (Qwen2/Qwen3). Metaspace/WordPiece/Unigram tokenizers and other
// normalizers are rejected with an error. Immutable after construction, so one instance
// may be used from many threads.
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

namespace citadel::runtime {

class Tokenizer {
 public:
  // Reads tokenizer.json; throws RuntimeError naming the file and field for
  // anything malformed or unsupported (e.g. a non-BPE model).
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  // Same from text; `source` names it in errors.
  static Tokenizer from_json(std::string_view json, const std::string& source);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text (UTF-8) to ids. With add_special_tokens the post-processor's tokens
  // (e.g. Llama-3's <|begin_of_text|>) are added; Qwen2 adds none.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Ids to text. Incomplete UTF-8 at the end or between tokens is replaced by
  // U+FFFD like HF's decode; skip_special_tokens drops special added tokens.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The raw bytes a token stands for (byte-level decoded; <0xAB> -> one byte;
  // added tokens -> their content). Throws for an id outside the vocabulary.
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
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of token ids into text pieces that contain only complete
// UTF-8 characters: bytes of a character split across tokens are held back
// until it completes. Used by plugins to stream generated text.
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
  std::string pending_;
};

// Length of the longest prefix of `bytes` made of complete, valid UTF-8
// sequences, allowing an incomplete (but so far valid) sequence at the end to
// be excluded. Exposed for StreamingDecoder's tests and stop-string handling.
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace citadel::runtime
