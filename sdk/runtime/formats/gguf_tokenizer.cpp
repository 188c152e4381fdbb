// GGUF tokenizer metadata -> GgufVocab -> Tokenizer, plus TokenizerConfig.
#include "runtime/formats/gguf_tokenizer.h"

#include "runtime/core/error.h"

#include <optional>

namespace citadel::runtime {
namespace {

std::optional<int32_t> token_id(const GgufFile& file, const std::string& key, size_t vocab) {
  if (!file.has(key)) return std::nullopt;
  const uint64_t id = file.get_uint(key);
  if (id >= vocab) {
    throw_invalid(file.key_context(key) + " is " + std::to_string(id) + ", outside the vocabulary of " +
                  std::to_string(vocab) + " tokens");
  }
  return static_cast<int32_t>(id);
}

std::optional<bool> optional_bool(const GgufFile& file, const std::string& key) {
  if (!file.has(key)) return std::nullopt;
  return file.get_bool(key);
}

}  // namespace

GgufVocab read_gguf_vocab(const GgufFile& file) {
  GgufVocab vocab;
  vocab.model = file.get_string("tokenizer.ggml.model");
  vocab.pre = file.get_string("tokenizer.ggml.pre", "");
  vocab.tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (file.has("tokenizer.ggml.scores")) {
    for (double score : file.get_double_array("tokenizer.ggml.scores")) vocab.scores.push_back(static_cast<float>(score));
  }
  if (file.has("tokenizer.ggml.token_type")) {
    for (int64_t type : file.get_int_array("tokenizer.ggml.token_type")) vocab.token_type.push_back(static_cast<int32_t>(type));
  }
  if (file.has("tokenizer.ggml.merges")) vocab.merges = file.get_string_array("tokenizer.ggml.merges");
  const size_t size = vocab.tokens.size();
  vocab.bos_token_id = token_id(file, "tokenizer.ggml.bos_token_id", size);
  vocab.eos_token_id = token_id(file, "tokenizer.ggml.eos_token_id", size);
  vocab.unknown_token_id = token_id(file, "tokenizer.ggml.unknown_token_id", size);
  vocab.padding_token_id = token_id(file, "tokenizer.ggml.padding_token_id", size);
  vocab.add_bos_token = optional_bool(file, "tokenizer.ggml.add_bos_token");
  vocab.add_eos_token = optional_bool(file, "tokenizer.ggml.add_eos_token");
  vocab.add_space_prefix = optional_bool(file, "tokenizer.ggml.add_space_prefix");
  return vocab;
}

GgufTokenizer load_gguf_tokenizer(const GgufFile& file) {
  const GgufVocab vocab = read_gguf_vocab(file);
  GgufTokenizer out{make_tokenizer_from_gguf_vocab(vocab, file.path().string() + " (tokenizer.ggml.*)"), {}};
  auto text_of = [&](const std::optional<int32_t>& id) -> std::optional<std::string> {
    if (!id) return std::nullopt;
    return vocab.tokens[static_cast<size_t>(*id)];
  };
  out.config.bos_token = text_of(vocab.bos_token_id);
  out.config.eos_token = text_of(vocab.eos_token_id);
  out.config.pad_token = text_of(vocab.padding_token_id);
  // transformers (and llama.cpp) add BOS to SentencePiece vocabularies unless the file says otherwise.
  out.config.add_bos_token = vocab.add_bos_token.value_or(vocab.model == "llama");
  out.config.chat_template = file.get_string("tokenizer.chat_template", "");
  return out;
}

}  // namespace citadel::runtime
