// Fuzz target: the SentencePiece-style tokenizers (BPE with byte fallback,
// Unigram with and without byte fallback, and a GGUF "llama" vocabulary) on
// arbitrary bytes. The selector byte picks the tokenizer (selector % 5:
// spm_llama2, spm_mistral, unigram_t5, unigram_fallback from their
// tokenizer.json, gguf_llama from its tokenizer.gguf) and the mode:
// - encode (bit 4 clear): the rest is text (any bytes, invalid UTF-8
//   included). Every id is inside the vocabulary and encoding is
//   deterministic; decoding the ids gives valid UTF-8.
// - decode (bit 4 set): the rest is little-endian int32 ids, folded mostly
//   into the vocabulary. Ids outside it throw runtime::RuntimeError; otherwise
//   decode() is valid UTF-8 and, unless a byte-fallback run was invalid
//   (U+FFFD in the text, see StreamingDecoder), the streaming decoder's pieces
//   add up to it.
// Bits 2 and 3: add_special_tokens / skip_special_tokens.
#include "fuzz_support.hpp"

#include "runtime/core/error.h"
#include "runtime/formats/gguf_file.h"
#include "runtime/formats/gguf_tokenizer.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/utf8.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace citadel;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "spm tokenizer finding: %s\n", what.c_str());
  std::abort();
}

runtime::Tokenizer load_json(const char* folder) {
  return runtime::Tokenizer::from_file(fuzz::source_dir() / "tests/data/tokenizer/spm" / folder / "tokenizer.json");
}

runtime::Tokenizer load_gguf(const char* folder) {
  const runtime::GgufFile file(fuzz::source_dir() / "tests/data/tokenizer/spm" / folder / "tokenizer.gguf");
  return runtime::load_gguf_tokenizer(file).tokenizer;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string decode_checked(const runtime::Tokenizer& tokenizer, const std::vector<int32_t>& ids, bool skip_special) {
  const std::string text = tokenizer.decode(ids, skip_special);
  if (runtime::utf8::repair(text) != text) finding("decode gave invalid UTF-8");
  if (text.find(kReplacement) == std::string::npos) {
    runtime::StreamingDecoder stream(tokenizer, skip_special);
    std::string pieces;
    for (int32_t id : ids) pieces += stream.push(id);
    pieces += stream.flush();
    if (pieces != text) finding("streamed pieces \"" + pieces + "\" differ from decode() \"" + text + "\"");
  }
  return text;
}

void check_encode(const runtime::Tokenizer& tokenizer, std::string_view text, bool add_special, bool skip_special) {
  const std::vector<int32_t> ids = tokenizer.encode(text, add_special);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size())
      finding("encode gave id " + std::to_string(id) + " outside the vocabulary");
  }
  if (tokenizer.encode(text, add_special) != ids) finding("encode is not deterministic");
  decode_checked(tokenizer, ids, skip_special);
}

void check_decode(const runtime::Tokenizer& tokenizer, std::string_view bytes, bool skip_special) {
  std::vector<int32_t> ids(bytes.size() / 4);
  if (!ids.empty()) std::memcpy(ids.data(), bytes.data(), ids.size() * 4);
  const auto span = static_cast<int64_t>(tokenizer.vocab_size()) + 4;
  bool in_range = true;
  for (int32_t& id : ids) {
    id = static_cast<int32_t>(static_cast<int64_t>(id) % span);
    in_range = in_range && id >= 0 && static_cast<size_t>(id) < tokenizer.vocab_size();
  }
  try {
    decode_checked(tokenizer, ids, skip_special);
  } catch (const runtime::RuntimeError&) {
    if (in_range) finding("decode threw for ids inside the vocabulary");
    return;
  }
  if (!in_range) finding("decode accepted an id outside the vocabulary");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const runtime::Tokenizer tokenizers[5] = {load_json("spm_llama2"), load_json("spm_mistral"),
                                                   load_json("unigram_t5"), load_json("unigram_fallback"),
                                                   load_gguf("gguf_llama")};
  const fuzz::Selected input = fuzz::select_first_byte(data, size);
  const runtime::Tokenizer& tokenizer = tokenizers[input.selector % 5];
  const bool skip_special = (input.selector & 8) != 0;
  if (input.selector & 16)
    check_decode(tokenizer, input.rest, skip_special);
  else
    check_encode(tokenizer, input.rest, (input.selector & 4) != 0, skip_special);
  return 0;
}
