// GGUF tokenizer metadata -> tokenizer.json (byte-level BPE) -> Tokenizer.
#include "runtime/formats/gguf_tokenizer.h"

#include "runtime/core/error.h"

#include <boost/json.hpp>

#include <optional>

namespace citadel::runtime {
namespace {

namespace json = boost::json;

constexpr int64_t kTokenControl = 3;
constexpr int64_t kTokenUserDefined = 4;

// llama.cpp's pre-tokenizer regexes (llama-vocab.cpp), as tokenizer.json Split patterns.
constexpr const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

json::object byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json::object split_then_bytes(const char* pattern) {
  json::object split{{"type", "Split"},
                     {"pattern", json::object{{"Regex", pattern}}},
                     {"behavior", "Isolated"},
                     {"invert", false}};
  return {{"type", "Sequence"}, {"pretokenizers", json::array{split, byte_level(false)}}};
}

struct PreTokenizerChoice {
  json::value pre_tokenizer;
  bool ignore_merges = false;
  bool nfc = false;
};

PreTokenizerChoice choose_pre_tokenizer(const GgufFile& file) {
  const std::string pre = file.get_string("tokenizer.ggml.pre", "default");
  PreTokenizerChoice choice;
  if (pre == "default" || pre == "gpt2" || pre == "gpt-2") {
    choice.pre_tokenizer = byte_level(true);
  } else if (pre == "smollm") {
    json::object digits{{"type", "Digits"}, {"individual_digits", true}};
    choice.pre_tokenizer = json::object{{"type", "Sequence"}, {"pretokenizers", json::array{digits, byte_level(true)}}};
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3" || pre == "smaug-bpe") {
    choice.pre_tokenizer = split_then_bytes(kLlama3Split);
    choice.ignore_merges = true;
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    choice.pre_tokenizer = split_then_bytes(kQwen2Split);
    choice.nfc = true;
  } else {
    throw_unsupported(file.key_context("tokenizer.ggml.pre") + " is '" + pre +
                      "'; supported: default, gpt2, smollm, llama-bpe, llama3, qwen2, deepseek-r1-qwen");
  }
  return choice;
}

std::optional<int64_t> token_id(const GgufFile& file, const std::string& key, size_t vocab) {
  if (!file.has(key)) return std::nullopt;
  const uint64_t id = file.get_uint(key);
  if (id >= vocab) {
    throw_invalid(file.key_context(key) + " is " + std::to_string(id) + ", outside the vocabulary of " +
                  std::to_string(vocab) + " tokens");
  }
  return static_cast<int64_t>(id);
}

json::object template_processing(const std::vector<std::string>& tokens, std::optional<int64_t> bos,
                                 std::optional<int64_t> eos) {
  json::array single, pair;
  json::object specials;
  auto special = [&](int64_t id) {
    const std::string& text = tokens[static_cast<size_t>(id)];
    specials[text] = json::object{{"id", text}, {"ids", json::array{id}}, {"tokens", json::array{text}}};
    return json::object{{"SpecialToken", json::object{{"id", text}, {"type_id", 0}}}};
  };
  if (bos) single.push_back(special(*bos));
  single.push_back(json::object{{"Sequence", json::object{{"id", "A"}, {"type_id", 0}}}});
  if (eos) single.push_back(special(*eos));
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", specials}};
}

}  // namespace

std::string gguf_byte_level_tokenizer_json(const GgufFile& file) {
  const std::vector<std::string> tokens = file.get_string_array("tokenizer.ggml.tokens");
  const std::vector<std::string> merges =
      file.has("tokenizer.ggml.merges") ? file.get_string_array("tokenizer.ggml.merges") : std::vector<std::string>{};
  std::vector<int64_t> types;
  if (file.has("tokenizer.ggml.token_type")) {
    types = file.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != tokens.size()) {
      throw_invalid(file.key_context("tokenizer.ggml.token_type") + " has " + std::to_string(types.size()) +
                    " entries for " + std::to_string(tokens.size()) + " tokens");
    }
  }
  const PreTokenizerChoice pre = choose_pre_tokenizer(file);

  json::object vocab;
  json::array added;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (vocab.contains(tokens[id])) {
      throw_invalid(file.key_context("tokenizer.ggml.tokens") + " holds '" + tokens[id] + "' twice (ids " +
                    std::to_string(vocab.at(tokens[id]).as_int64()) + " and " + std::to_string(id) + ")");
    }
    vocab[tokens[id]] = static_cast<int64_t>(id);
    const int64_t type = types.empty() ? 1 : types[id];
    if (type == kTokenControl || type == kTokenUserDefined) {
      const bool special = type == kTokenControl;
      added.push_back(json::object{{"id", static_cast<int64_t>(id)}, {"content", tokens[id]}, {"single_word", false},
                                   {"lstrip", false}, {"rstrip", false}, {"normalized", !special},
                                   {"special", special}});
    }
  }
  json::array merge_list;
  for (const std::string& merge : merges) merge_list.push_back(json::string(merge));

  const bool add_bos = file.get_bool("tokenizer.ggml.add_bos_token", false);
  const bool add_eos = file.get_bool("tokenizer.ggml.add_eos_token", false);
  const std::optional<int64_t> bos = token_id(file, "tokenizer.ggml.bos_token_id", tokens.size());
  const std::optional<int64_t> eos = token_id(file, "tokenizer.ggml.eos_token_id", tokens.size());
  if (add_bos && !bos) throw_invalid(file.key_context("tokenizer.ggml.bos_token_id") + " is missing but add_bos_token is true");
  if (add_eos && !eos) throw_invalid(file.key_context("tokenizer.ggml.eos_token_id") + " is missing but add_eos_token is true");

  json::object root;
  root["version"] = "1.0";
  root["added_tokens"] = std::move(added);
  root["normalizer"] = pre.nfc ? json::value(json::object{{"type", "NFC"}}) : json::value(nullptr);
  root["pre_tokenizer"] = pre.pre_tokenizer;
  root["post_processor"] = (add_bos || add_eos)
                               ? json::value(template_processing(tokens, add_bos ? bos : std::nullopt,
                                                                 add_eos ? eos : std::nullopt))
                               : json::value(byte_level(true));
  root["decoder"] = byte_level(true);
  root["model"] = json::object{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                               {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                               {"fuse_unk", false}, {"byte_fallback", false},
                               {"ignore_merges", pre.ignore_merges}, {"vocab", std::move(vocab)},
                               {"merges", std::move(merge_list)}};
  return json::serialize(root);
}

GgufTokenizer load_gguf_tokenizer(const GgufFile& file) {
  const std::string model = file.get_string("tokenizer.ggml.model");
  if (model != "gpt2") {
    throw_unsupported(file.key_context("tokenizer.ggml.model") + " is '" + model +
                      "'; supported: gpt2 (byte-level BPE)");
  }
  const std::string source = file.path().string() + " (tokenizer.ggml.*)";
  GgufTokenizer out{Tokenizer::from_json(gguf_byte_level_tokenizer_json(file), source), {}};
  const std::vector<std::string> tokens = file.get_string_array("tokenizer.ggml.tokens");
  auto token_text = [&](const std::string& key) -> std::optional<std::string> {
    const std::optional<int64_t> id = token_id(file, key, tokens.size());
    if (!id) return std::nullopt;
    return tokens[static_cast<size_t>(*id)];
  };
  out.config.bos_token = token_text("tokenizer.ggml.bos_token_id");
  out.config.eos_token = token_text("tokenizer.ggml.eos_token_id");
  out.config.pad_token = token_text("tokenizer.ggml.padding_token_id");
  if (file.has("tokenizer.ggml.add_bos_token")) out.config.add_bos_token = file.get_bool("tokenizer.ggml.add_bos_token");
  out.config.chat_template = file.get_string("tokenizer.chat_template", "");
  return out;
}

}  // namespace citadel::runtime
