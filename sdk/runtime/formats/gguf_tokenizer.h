// The tokenizer stored in a GGUF file (tokenizer.ggml.*), as a runtime
// Tokenizer plus the TokenizerConfig facts a host needs (bos/eos/pad token
// text, add_bos_token, the Jinja chat_template). Reads the metadata into a
// GgufVocab and builds the tokenizer with make_tokenizer_from_gguf_vocab
// (runtime/text/gguf_vocab.h: "gpt2" byte-level BPE and "llama"
// SentencePiece, as transformers' GGUF tokenizer conversion encodes). Errors
// name the file and key. Used by llm-gptq's GGUF loader.
#pragma once

#include "runtime/formats/gguf_file.h"
#include "runtime/text/gguf_vocab.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/tokenizer_config.h"

namespace citadel::runtime {

struct GgufTokenizer {
  Tokenizer tokenizer;
  TokenizerConfig config;
};

// The tokenizer.ggml.* arrays and ids of `file` (ids checked against the vocabulary).
GgufVocab read_gguf_vocab(const GgufFile& file);

GgufTokenizer load_gguf_tokenizer(const GgufFile& file);

}  // namespace citadel::runtime
