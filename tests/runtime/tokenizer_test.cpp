// Tests of runtime/text/tokenizer against vectors made by the Hugging Face
// `tokenizers` package (tests/data/tokenizer/make_vectors.py).
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/tokenizer.h"
#include "support/test_support.hpp"

#include <string>
#include <vector>

using namespace citadel::runtime;
using Catch::Matchers::Contains;
namespace json = boost::json;

namespace {

std::filesystem::path data_dir() { return citadel::test::source_dir() / "tests/data/tokenizer"; }

std::vector<int32_t> ids_of(const json::value& value) {
  std::vector<int32_t> ids;
  for (const auto& v : value.as_array()) ids.push_back(static_cast<int32_t>(v.as_int64()));
  return ids;
}

void check_against_vectors(const std::string& variant) {
  const Tokenizer tokenizer = Tokenizer::from_file(data_dir() / variant / "tokenizer.json");
  const json::value vectors = read_json_file(data_dir() / variant / "vectors.json");
  REQUIRE(vectors.as_array().size() > 20);
  for (const auto& entry : vectors.as_array()) {
    const auto& v = entry.as_object();
    const std::string text(v.at("text").as_string());
    INFO(variant << ": text \"" << text << "\"");
    const auto ids = ids_of(v.at("ids"));
    CHECK(tokenizer.encode(text, true) == ids);
    CHECK(tokenizer.encode(text, false) == ids_of(v.at("ids_no_special")));
    CHECK(tokenizer.decode(ids) == std::string(v.at("decoded").as_string()));
    CHECK(tokenizer.decode(ids, true) == std::string(v.at("decoded_skip_special").as_string()));
    // Streaming the ids gives the same text as decoding them at once.
    StreamingDecoder stream(tokenizer);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string piece = stream.push(id);
      CHECK(complete_utf8_prefix(piece) == piece.size());
      streamed += piece;
    }
    streamed += stream.flush();
    CHECK(streamed == tokenizer.decode(ids));
  }
}

}  // namespace

TEST_CASE("Llama-3 style tokenizer (split regex, pair merges, ignore_merges, BOS) matches HF", "[runtime]") {
  check_against_vectors("llama3");
}

TEST_CASE("Qwen2 style tokenizer (single-digit regex, string merges, no BOS) matches HF", "[runtime]") {
  check_against_vectors("qwen2");
}

TEST_CASE("GPT-2/SmolLM2 style tokenizer (Digits + ByteLevel prefix space and regex) matches HF", "[runtime]") {
  check_against_vectors("gpt2");
}

TEST_CASE("decode(encode(text)) gives back long mixed and unbroken texts", "[runtime]") {
  // 20000 CJK characters form one pre-token word: BPE must stay fast on it.
  std::string cjk;
  for (int i = 0; i < 20000; ++i) cjk += (i % 3 == 0) ? "\u6771" : (i % 3 == 1) ? "\u4eac" : "\u5b66";
  std::string mixed;
  for (int i = 0; i < 300; ++i) mixed += "Word" + std::to_string(i * 7919) + " \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\n\t  x";
  for (const char* variant : {"llama3", "qwen2", "gpt2"}) {
    const Tokenizer tokenizer = Tokenizer::from_file(data_dir() / variant / "tokenizer.json");
    const bool gpt2 = std::string(variant) == "gpt2";
    // gpt2's add_prefix_space puts a space before every pre-split piece (each
    // digit, after Digits), as HF does: only the digit-free text round-trips,
    // with one leading space.
    CHECK(tokenizer.decode(tokenizer.encode(cjk, false)) == (gpt2 ? " " + cjk : cjk));
    if (!gpt2) CHECK(tokenizer.decode(tokenizer.encode(mixed, false)) == mixed);
  }
}

TEST_CASE("tokenizer lookups: special tokens, token strings and raw bytes", "[runtime]") {
  const Tokenizer tokenizer = Tokenizer::from_file(data_dir() / "llama3/tokenizer.json");
  const auto bos = tokenizer.token_to_id("<|begin_of_text|>");
  REQUIRE(bos.has_value());
  CHECK(tokenizer.is_special(*bos));
  CHECK(tokenizer.encode("", true) == std::vector<int32_t>{*bos});
  const auto tool = tokenizer.token_to_id("<tool>");
  REQUIRE(tool.has_value());
  CHECK_FALSE(tokenizer.is_special(*tool));
  const auto space = tokenizer.token_to_id("\xc4\xa0");  // "Ġ" is the byte-level space
  REQUIRE(space.has_value());
  CHECK(tokenizer.token_bytes(*space) == " ");
  CHECK(tokenizer.id_to_token(*space) == "\xc4\xa0");
  CHECK(tokenizer.vocab_size() > static_cast<size_t>(*tool));
  CHECK_THROWS_AS(tokenizer.decode(std::vector<int32_t>{-1}), RuntimeError);
  CHECK_THROWS_AS(tokenizer.token_bytes(static_cast<int32_t>(tokenizer.vocab_size())), RuntimeError);
}

TEST_CASE("streaming decode holds back a character split across tokens", "[runtime]") {
  const Tokenizer tokenizer = Tokenizer::from_file(data_dir() / "llama3/tokenizer.json");
  // Byte tokens of "é" (C3 A9) one at a time.
  const auto c3 = tokenizer.token_to_id("\xc3\x83");  // byte 0xC3 in the byte-level map
  const auto a9 = tokenizer.token_to_id("\xc2\xa9");  // byte 0xA9 maps to itself (U+00A9)
  REQUIRE(c3.has_value());
  REQUIRE(a9.has_value());
  StreamingDecoder stream(tokenizer);
  CHECK(stream.push(*c3).empty());
  CHECK(stream.push(*a9) == "\xc3\xa9");
  CHECK(stream.push(*c3).empty());
  CHECK(stream.flush() == "\xef\xbf\xbd");  // an unfinished character becomes U+FFFD
  CHECK(tokenizer.decode(std::vector<int32_t>{*c3}) == "\xef\xbf\xbd");
  CHECK(complete_utf8_prefix("ab\xf0\x9f\x98") == 2);
  CHECK(complete_utf8_prefix("ab\xf0\x9f\x98\x80") == 6);
  CHECK(complete_utf8_prefix("ab\xff") == 3);
}

TEST_CASE("byte_fallback encodes unknown characters as <0xAB> tokens and decodes them", "[runtime]") {
  // A hand-written tokenizer.json: no pre-tokenizer, BPE with byte fallback.
  const std::string spec = R"({
    "added_tokens": [{"id": 0, "content": "<s>", "special": true}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null,
    "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
    "model": {"type": "BPE", "byte_fallback": true, "ignore_merges": false,
      "vocab": {"<s>": 0, "a": 1, "b": 2, "ab": 3, "<0xC3>": 4, "<0xA9>": 5},
      "merges": [["a", "b"]]}})";
  const Tokenizer tokenizer = Tokenizer::from_json(spec, "inline.json");
  CHECK(tokenizer.encode("abé<s>a", true) == std::vector<int32_t>{3, 4, 5, 0, 1});
  CHECK(tokenizer.decode(std::vector<int32_t>{3, 4, 5}) == "ab\xc3\xa9");
}

TEST_CASE("unsupported or malformed tokenizer.json files fail naming the file and field", "[runtime]") {
  CHECK_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "WordPiece", "vocab": {}}})", "t.json"),
                    Contains("t.json") && Contains("WordPiece"));
  CHECK_THROWS_WITH(Tokenizer::from_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})", "t.json"),
                    Contains("t.json") && Contains("merges[0]"));
  CHECK_THROWS_WITH(Tokenizer::from_json(R"({"pre_tokenizer": {"type": "BertPreTokenizer"},)"
                                         R"("model": {"type": "BPE", "vocab": {}, "merges": []}})", "t.json"),
                    Contains("BertPreTokenizer"));
  CHECK_THROWS_WITH(Tokenizer::from_json(R"({"normalizer": {"type": "Lowercase"},)"
                                         R"("model": {"type": "BPE", "vocab": {}, "merges": []}})", "t.json"),
                    Contains("t.json") && Contains("Lowercase"));
  CHECK_THROWS_WITH(Tokenizer::from_json(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(["}},)"
                                         R"("model": {"type": "BPE", "vocab": {}, "merges": []}})", "t.json"),
                    Contains("t.json") && Contains("(["));
  CHECK_THROWS_WITH(Tokenizer::from_json("{\"model\": ", "broken.json"), Contains("broken.json:1"));
  CHECK_THROWS_WITH(Tokenizer::from_file("/nonexistent/tokenizer.json"), Contains("/nonexistent/tokenizer.json"));
}
