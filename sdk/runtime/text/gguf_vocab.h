// GgufVocab and make_tokenizer_from_gguf_vocab: a Tokenizer from the
// tokenizer metadata of a GGUF file (llama.cpp, Ollama), given as the plain
// arrays GGUF stores. Called by the GGUF loader, which fills GgufVocab from
// the "tokenizer.ggml.*" keys; the result encodes and decodes as transformers'
// GGUF tokenizer conversion (AutoTokenizer.from_pretrained(..., gguf_file=...)):
//  - model "llama" (SentencePiece BPE: Llama-2, TinyLlama, Mistral): tokens
//    with scores, byte fallback through the <0xAB> tokens; merges are derived
//    from the scores (every split of a token into two tokens, best score
//    first), which is llama.cpp's SPM merge order; spaces become "▁", and one
//    is prepended to the text (see space_prefix_after_special_tokens for
//    llama.cpp's rule), stripped again by decode. add_space_prefix=false (not
//    read by transformers) follows llama.cpp: nothing is prepended or stripped.
//  - model "gpt2" (byte-level BPE: Llama-3, Qwen2, SmolLM): tokens and merges
//    ("a b"); `pre` picks the split regex as transformers does (llama-bpe,
//    llama3, qwen2, tekken, gpt-4o, ...; other names: GPT-2's ByteLevel regex).
// transformers treats two architectures' "llama" vocabularies differently:
// phi3 is space_prefix_after_special_tokens = true; gemma (merges from token
// order, respelled space tokens) is not covered.
// Token types: CONTROL tokens (and the bos/eos/unk/pad tokens) become special
// added tokens, USER_DEFINED ones plain added tokens, matched whole in text.
// add_bos_token (default true for "llama", false for "gpt2") and
// add_eos_token decide what encode(..., add_special_tokens=true) adds.
#pragma once

#include "runtime/text/tokenizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace citadel::runtime {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum class GgufTokenType : int32_t {
  undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

struct GgufVocab {
  std::string model;                 // tokenizer.ggml.model: "llama" or "gpt2"
  std::string pre;                   // tokenizer.ggml.pre (may be empty)
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens; index = id
  std::vector<float> scores;         // tokenizer.ggml.scores ("llama": required)
  std::vector<int32_t> token_type;   // tokenizer.ggml.token_type (GgufTokenType values; may be empty)
  std::vector<std::string> merges;   // tokenizer.ggml.merges ("gpt2": required)
  std::optional<int32_t> bos_token_id, eos_token_id, unknown_token_id, padding_token_id;
  std::optional<bool> add_bos_token, add_eos_token;  // tokenizer.ggml.add_bos_token / add_eos_token
  std::optional<bool> add_space_prefix;              // tokenizer.ggml.add_space_prefix
  // "llama" only. false (transformers): the space is prepended to the start
  // of the text only. true (llama.cpp, and Llama-2's own tokenizer.json): to
  // every piece of text, also to one that follows a special token, so
  // "<s>Hi" encodes "<s>", "▁Hi" instead of "<s>", "Hi".
  bool space_prefix_after_special_tokens = false;
};

// Throws RuntimeError naming `source` (e.g. the .gguf path) and the key for
// an unsupported model or inconsistent arrays.
Tokenizer make_tokenizer_from_gguf_vocab(const GgufVocab& vocab, const std::string& source);

}  // namespace citadel::runtime
