// Nonsense hyper-parameters in a GGUF file's metadata (found by, or guarded
// for, tests/fuzz gguf_hparams): each is refused by load_gguf_model with a
// RuntimeError naming the key, before anything is sized by it. The files
// are the committed tests/data/gguf/llama-gguf model with one metadata value
// rewritten in place (keys renamed only to keys of the same length).
#include "gguf_model.h"

#include "runtime/core/error.h"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace fs = std::filesystem;
using namespace citadel::llm;
using Catch::Matchers::Contains;

namespace {

std::string llama_file() {
  std::ifstream in(citadel::test::source_dir() / "tests/data/gguf/llama-gguf/model.gguf", std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Where the value of metadata key `key` starts (after its length-prefixed
// name and its u32 type, which must be `type`).
size_t value_offset(const std::string& file, const std::string& key, uint32_t type) {
  uint64_t length = key.size();
  std::string prefixed(reinterpret_cast<const char*>(&length), sizeof(length));
  prefixed += key;
  const size_t at = file.find(prefixed);
  REQUIRE(at != std::string::npos);
  uint32_t stored_type = 0;
  std::memcpy(&stored_type, file.data() + at + prefixed.size(), sizeof(stored_type));
  REQUIRE(stored_type == type);
  return at + prefixed.size() + sizeof(stored_type);
}

std::string with_u32(std::string file, const std::string& key, uint32_t value) {
  std::memcpy(file.data() + value_offset(file, key, 4), &value, sizeof(value));
  return file;
}

std::string with_f32(std::string file, const std::string& key, float value) {
  std::memcpy(file.data() + value_offset(file, key, 6), &value, sizeof(value));
  return file;
}

std::string renamed(std::string file, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  const size_t at = file.find(from);
  REQUIRE(at != std::string::npos);
  file.replace(at, from.size(), to);
  return file;
}

// The message of the RuntimeError that loading `content` throws ("" if none).
std::string load_error(const std::string& content) {
  citadel::test::TempDir dir;
  const fs::path path = dir.write("model.gguf", content);
  try {
    load_gguf_model(path, "auto", "");
  } catch (const citadel::runtime::RuntimeError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the llama GGUF test model loads before it is rewritten", "[llm][gguf]") {
  CHECK(load_error(llama_file()).empty());
}

TEST_CASE("a GGUF block_count beyond the file's blocks is refused before layers are sized", "[llm][gguf]") {
  // Before: a vector of 2^31 - 1 layers was sized first (std::bad_alloc).
  const std::string error = load_error(with_u32(llama_file(), "llama.block_count", 2147483647u));
  CHECK_THAT(error, Contains("'llama.block_count'") && Contains("2147483647") &&
                        Contains("no tensor 'blk.2147483646.attn_norm.weight'"));
}

TEST_CASE("a GGUF key_length whose Q rows the file lacks is refused by the shape check", "[llm][gguf]") {
  // rope.dimension_count renamed to attention.key_length (same length):
  // 4 heads x (2^31 - 2): before, llama's Q/K row order (32 GiB) was sized
  // before the tensor's shape was checked (std::bad_alloc).
  const std::string file =
      with_u32(renamed(llama_file(), "llama.rope.dimension_count", "llama.attention.key_length"),
               "llama.attention.key_length", 2147483646u);
  CHECK_THAT(load_error(file), Contains("tensor 'blk.0.attn_q.weight' has shape"));
}

TEST_CASE("GGUF epsilon, RoPE base and token ids must make sense", "[llm][gguf]") {
  const std::string nan = std::to_string(std::numeric_limits<float>::quiet_NaN());
  CHECK_THAT(load_error(with_f32(llama_file(), "llama.attention.layer_norm_rms_epsilon", -1e-6f)),
             Contains("'llama.attention.layer_norm_rms_epsilon' must be a positive finite number"));
  CHECK_THAT(load_error(with_f32(llama_file(), "llama.attention.layer_norm_rms_epsilon",
                                 std::numeric_limits<float>::quiet_NaN())),
             Contains("'llama.attention.layer_norm_rms_epsilon' must be a positive finite number, got " + nan));
  CHECK_THAT(load_error(with_f32(llama_file(), "llama.rope.freq_base", 0.0f)),
             Contains("'llama.rope.freq_base' must be a positive finite number"));
  CHECK_THAT(load_error(with_f32(llama_file(), "llama.rope.freq_base", std::numeric_limits<float>::infinity())),
             Contains("'llama.rope.freq_base' must be a positive finite number"));
  // eos renamed to eot (not checked by the tokenizer): an id past the
  // embedding's 905 rows.
  const std::string eot = with_u32(renamed(llama_file(), "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"),
                                   "tokenizer.ggml.eot_token_id", 100000);
  CHECK_THAT(load_error(eot), Contains("'tokenizer.ggml.eot_token_id' is 100000 but token_embd.weight has 905 rows"));
}
