// Fuzz target: the byte-level BPE tokenizer on arbitrary bytes. The selector
// byte picks one of the test tokenizers (GPT-2 style, Llama-3 style, Qwen2
// style with NFC) and the mode:
// - encode (bit 4 clear): the rest is text. Every id is inside the
//   vocabulary, and for the Llama-3 style one (no normalizer, no prefix
//   space; HF tokenizers agrees) decoding gives the text back (invalid
//   UTF-8 repaired to U+FFFD, as decode does).
// - decode (bit 4 set): the rest is little-endian int32 ids. Ids outside the
//   vocabulary throw runtime::RuntimeError; otherwise the streaming decoder's
//   pieces add up to decode()'s text, which is valid UTF-8.
// Bits 2 and 3: add_special_tokens / skip_special_tokens.
#include "fuzz_support.hpp"

#include "runtime/core/error.h"
#include "runtime/text/tokenizer.h"
#include "runtime/text/utf8.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace citadel;

struct TestTokenizer {
  runtime::Tokenizer tokenizer;
  bool round_trips;  // decode(encode(text)) == text
};

TestTokenizer load(const char* name, bool round_trips) {
  const auto path = fuzz::source_dir() / "tests" / "data" / "tokenizer" / name / "tokenizer.json";
  return {runtime::Tokenizer::from_file(path), round_trips};
}

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "tokenizer finding: %s\n", what.c_str());
  std::abort();
}

void check_encode(const TestTokenizer& test, std::string_view text, bool add_special) {
  const runtime::Tokenizer& tokenizer = test.tokenizer;
  const std::vector<int32_t> ids = tokenizer.encode(text, add_special);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size())
      finding("encode gave id " + std::to_string(id) + " outside the vocabulary");
  }
  if (!test.round_trips) return;
  const std::vector<int32_t> plain = add_special ? tokenizer.encode(text, false) : ids;
  const std::string decoded = tokenizer.decode(plain), expected = runtime::utf8::repair(text);
  if (decoded != expected) finding("decode(encode(text)) gives \"" + decoded + "\", not \"" + expected + "\"");
}

void check_decode(const runtime::Tokenizer& tokenizer, std::string_view bytes, bool skip_special) {
  std::vector<int32_t> ids(bytes.size() / 4);
  if (!ids.empty()) std::memcpy(ids.data(), bytes.data(), ids.size() * 4);
  // Fold most ids into (and a few just outside) the vocabulary.
  const auto span = static_cast<int64_t>(tokenizer.vocab_size()) + 4;
  bool in_range = true;
  for (int32_t& id : ids) {
    id = static_cast<int32_t>(static_cast<int64_t>(id) % span);
    in_range = in_range && id >= 0 && static_cast<size_t>(id) < tokenizer.vocab_size();
  }
  std::string whole;
  try {
    whole = tokenizer.decode(ids, skip_special);
  } catch (const runtime::RuntimeError&) {
    if (in_range) finding("decode threw for ids inside the vocabulary");
    return;
  }
  if (!in_range) finding("decode accepted an id outside the vocabulary");
  if (runtime::utf8::repair(whole) != whole) finding("decode gave invalid UTF-8");
  runtime::StreamingDecoder stream(tokenizer, skip_special);
  std::string pieces;
  for (int32_t id : ids) pieces += stream.push(id);
  pieces += stream.flush();
  if (pieces != whole) finding("streamed pieces differ from decode()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TestTokenizer tokenizers[3] = {load("gpt2", false), load("llama3", true),
                                              load("qwen2", false)};
  const fuzz::Selected input = fuzz::select_first_byte(data, size);
  const TestTokenizer& test = tokenizers[input.selector % 3];
  if (input.selector & 16)
    check_decode(test.tokenizer, input.rest, (input.selector & 8) != 0);
  else
    check_encode(test, input.rest, (input.selector & 4) != 0);
  return 0;
}
