// The tokenizer stored in a GGUF file (tokenizer.ggml.*), as a runtime
// Tokenizer plus the TokenizerConfig facts a host needs (bos/eos/pad token
// text, add_bos_token, the Jinja chat_template).
//
// tokenizer.ggml.model "gpt2" (byte-level BPE: tokens, merges, token_type)
// is turned into the equivalent Hugging Face tokenizer.json and read by the
// runtime's byte-level BPE: tokens of type CONTROL (3) become special added
// tokens and USER_DEFINED (4) plain added tokens (as transformers' GGUF
// loader does); the pre-tokenizer follows tokenizer.ggml.pre as llama.cpp
// reads it ("default"/"gpt2": GPT-2 regex; "smollm": single digits then
// GPT-2; "llama-bpe"/"llama3": the Llama-3 split, merges ignored for whole
// words; "qwen2"/"deepseek-r1-qwen": the Qwen2 split with NFC); BOS/EOS are
// added to text prompts when tokenizer.ggml.add_bos_token/add_eos_token say
// so. Other models ("llama" SentencePiece, ...) and unknown pre-tokenizers
// throw UNSUPPORTED naming the file and key. Used by llm-gptq's GGUF loader.
#pragma once

#include "runtime/formats/gguf_file.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/tokenizer_config.h"

#include <string>

namespace citadel::runtime {

struct GgufTokenizer {
  Tokenizer tokenizer;
  TokenizerConfig config;
};

GgufTokenizer load_gguf_tokenizer(const GgufFile& file);

// The tokenizer.json text load_gguf_tokenizer builds for a "gpt2" vocabulary
// (exposed for tests and debugging).
std::string gguf_byte_level_tokenizer_json(const GgufFile& file);

}  // namespace citadel::runtime
