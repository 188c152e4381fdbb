// make_tokenizer_from_gguf_vocab: the GGUF arrays as the tokenizer.json that
// transformers' GGUF conversion builds, handed to Tokenizer::from_json_value.
#include "runtime/text/gguf_vocab.h"

#include "runtime/core/error.h"
#include "runtime/text/utf8.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace citadel::runtime {
namespace json = boost::json;
namespace {

// Split regexes by tokenizer.ggml.pre, as published in the models'
// tokenizer.json files (transformers' GGUF_PRE_TOKENIZER_SPLITS).
const char* split_regex(const std::string& pre) {
  static const char* kLlama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kQwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kQwen35 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kTekken =
      R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const char* kGpt4o =
      R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static const std::map<std::string, const char*> kByName = {
      {"llama3", kLlama3}, {"llama-v3", kLlama3}, {"llama-bpe", kLlama3}, {"falcon3", kLlama3},
      {"falcon-h1", kLlama3}, {"pixtral", kLlama3}, {"midm-2.0", kLlama3}, {"lfm2", kLlama3},
      {"jina-v5-nano", kLlama3}, {"dbrx", kLlama3}, {"smaug-bpe", kLlama3}, {"tekken", kTekken},
      {"qwen2", kQwen2}, {"deepseek-r1-qwen", kQwen2}, {"kormo", kQwen2}, {"f2llmv2", kQwen2},
      {"megrez", kQwen2}, {"qwen35", kQwen35}, {"gpt-4o", kGpt4o}, {"llama4", kGpt4o},
      {"kanana2", kGpt4o}, {"talkie", kGpt4o}, {"minimax-m2", kGpt4o},
  };
  auto it = kByName.find(pre);
  return it == kByName.end() ? nullptr : it->second;
}

// transformers' generate_merges(vocab, vocab_scores): every split of a token
// into two tokens, grouped by token in first-appearance order and by the
// parts' ids, then stably sorted by (score, left length, right length),
// largest first.
json::array merges_from_scores(const std::vector<std::string>& tokens, const std::vector<float>& scores) {
  std::unordered_map<std::string_view, int32_t> id_of;  // the last id of a token, as a Python dict
  std::unordered_map<std::string_view, float> score_of;
  std::vector<std::string_view> order;                 // first appearance
  for (size_t i = 0; i < tokens.size(); ++i) {
    id_of[tokens[i]] = static_cast<int32_t>(i);
    if (score_of.emplace(tokens[i], scores[i]).second) order.push_back(tokens[i]);
    else score_of[tokens[i]] = scores[i];
  }
  struct Merge {
    std::string_view left, right;
    float score;
    size_t left_length, right_length;
  };
  std::vector<Merge> merges;
  for (std::string_view token : order) {
    std::vector<Merge> local;
    const auto characters = utf8::characters(token);
    size_t split = 0;
    for (size_t index = 1; index < characters.size(); ++index) {
      split += characters[index - 1].size();
      const std::string_view left = token.substr(0, split), right = token.substr(split);
      if (id_of.count(left) != 0 && id_of.count(right) != 0) {
        local.push_back({left, right, score_of[token], index, characters.size() - index});
      }
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      const int32_t al = id_of[a.left], bl = id_of[b.left];
      return al != bl ? al < bl : id_of[a.right] < id_of[b.right];
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.left_length != b.left_length) return a.left_length > b.left_length;
    return a.right_length > b.right_length;
  });
  json::array out;
  out.reserve(merges.size());
  for (const Merge& m : merges) out.push_back(json::array{json::string(m.left), json::string(m.right)});
  return out;
}

json::object added_token(int32_t id, const std::string& content, bool special) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

json::object template_processing(const GgufVocab& vocab, const std::vector<std::string>& tokens,
                                 bool add_bos_default) {
  json::array single;
  json::object special_tokens;
  auto special = [&](int32_t id) {
    const std::string& name = tokens[static_cast<size_t>(id)];
    special_tokens[name] = {{"id", name}, {"ids", json::array{id}}, {"tokens", json::array{name}}};
    single.push_back(json::object{{"SpecialToken", {{"id", name}, {"type_id", 0}}}});
  };
  if (vocab.add_bos_token.value_or(add_bos_default) && vocab.bos_token_id) special(*vocab.bos_token_id);
  single.push_back(json::object{{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (vocab.add_eos_token.value_or(false) && vocab.eos_token_id) special(*vocab.eos_token_id);
  return {{"type", "TemplateProcessing"}, {"single", single}, {"special_tokens", special_tokens}};
}

}  // namespace

Tokenizer make_tokenizer_from_gguf_vocab(const GgufVocab& vocab, const std::string& source) {
  const size_t n = vocab.tokens.size();
  if (n == 0) throw_invalid(source + ": tokenizer.ggml.tokens is empty");
  if (!vocab.token_type.empty() && vocab.token_type.size() != n) {
    throw_invalid(source + ": tokenizer.ggml.token_type has " + std::to_string(vocab.token_type.size()) +
                  " entries for " + std::to_string(n) + " tokens");
  }
  for (const auto& [key, id] : {std::pair{"bos_token_id", vocab.bos_token_id}, {"eos_token_id", vocab.eos_token_id},
                                {"unknown_token_id", vocab.unknown_token_id},
                                {"padding_token_id", vocab.padding_token_id}}) {
    if (id && (*id < 0 || static_cast<size_t>(*id) >= n)) {
      throw_invalid(source + ": tokenizer.ggml." + key + " " + std::to_string(*id) + " is outside the " +
                    std::to_string(n) + " tokens");
    }
  }
  // Decoded text is made of these strings: invalid UTF-8 in one would reach
  // clients (found by tests/fuzz gguf). GGUF strings are UTF-8 by the format.
  for (size_t i = 0; i < n; ++i) {
    if (utf8::repair(vocab.tokens[i]) != vocab.tokens[i]) {
      throw_invalid(source + ": tokenizer.ggml.tokens[" + std::to_string(i) + "] is not valid UTF-8");
    }
  }
  const bool llama = vocab.model == "llama";
  if (!llama && vocab.model != "gpt2") {
    throw_unsupported(source + ": tokenizer.ggml.model \"" + vocab.model + "\" is not supported (llama and gpt2 are)");
  }
  std::vector<std::string> tokens = vocab.tokens;
  json::object root;
  json::object model{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}};
  if (llama) {
    if (vocab.scores.size() != n) {
      throw_invalid(source + ": tokenizer.ggml.scores has " + std::to_string(vocab.scores.size()) + " entries for " +
                    std::to_string(n) + " tokens");
    }
    model["fuse_unk"] = true;
    model["byte_fallback"] = true;
    model["merges"] = merges_from_scores(tokens, vocab.scores);
    const bool prefix = vocab.add_space_prefix.value_or(true);
    if (prefix && vocab.space_prefix_after_special_tokens) {
      // Llama-2's tokenizer.json: each piece of text between added tokens
      // gets the "▁" prefix.
      root["normalizer"] = {{"type", "Sequence"},
                            {"normalizers",
                             {{{"type", "Prepend"}, {"prepend", "\u2581"}},
                              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}};
      root["pre_tokenizer"] = nullptr;
    } else {
      root["normalizer"] = nullptr;
      root["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"},
                               {"prepend_scheme", prefix ? "first" : "never"}, {"split", false}};
    }
    json::array decoders{{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                         {{"type", "ByteFallback"}}, {{"type", "Fuse"}}};
    if (prefix) decoders.push_back(json::object{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    root["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  } else {
    // Tokens not written in the byte-level alphabet are respelled into it.
    for (auto& token : tokens) {
      std::string bytes;
      if (!utf8::unicode_to_bytes(token, bytes)) token = utf8::bytes_to_unicode_string(token);
    }
    json::array merges;
    for (size_t i = 0; i < vocab.merges.size(); ++i) {
      const std::string& merge = vocab.merges[i];
      const size_t space = merge.find(' ');
      if (space == std::string::npos || merge.find(' ', space + 1) != std::string::npos) {
        throw_invalid(source + ": tokenizer.ggml.merges[" + std::to_string(i) + "] \"" + merge +
                      "\" is not of the form \"a b\"");
      }
      merges.push_back(json::array{json::string(merge.substr(0, space)), json::string(merge.substr(space + 1))});
    }
    model["fuse_unk"] = false;
    model["byte_fallback"] = false;
    model["merges"] = std::move(merges);
    if (const char* regex = split_regex(vocab.pre)) {
      root["pre_tokenizer"] = {
          {"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
    } else {
      root["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                               {"use_regex", true}};
    }
    root["decoder"] = {{"type", "ByteLevel"}};
  }
  json::object vocab_object;
  for (size_t i = 0; i < n; ++i) vocab_object[tokens[i]] = static_cast<int64_t>(i);  // the last id of a duplicate
  model["vocab"] = std::move(vocab_object);
  root["model"] = std::move(model);

  // Added tokens: the named special tokens and CONTROL tokens (special), then
  // USER_DEFINED ones; a byte-level CONTROL token outside the alphabet is a
  // mislabel and skipped, as transformers does.
  json::array added;
  std::unordered_set<std::string> seen;
  auto add = [&](int32_t id, bool special) {
    const std::string& token = vocab.tokens[static_cast<size_t>(id)];
    if (!seen.insert(token).second) return;
    added.push_back(added_token(id, token, special));
  };
  for (auto id : {vocab.bos_token_id, vocab.eos_token_id, vocab.unknown_token_id, vocab.padding_token_id}) {
    if (id) add(*id, true);
  }
  auto type_of = [&](size_t i) {
    return vocab.token_type.empty() ? GgufTokenType::normal : static_cast<GgufTokenType>(vocab.token_type[i]);
  };
  for (size_t i = 0; i < n; ++i) {
    std::string bytes;
    if (type_of(i) == GgufTokenType::control && (llama || utf8::unicode_to_bytes(vocab.tokens[i], bytes))) {
      add(static_cast<int32_t>(i), true);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (type_of(i) == GgufTokenType::user_defined && tokens[i] == vocab.tokens[i]) add(static_cast<int32_t>(i), false);
  }
  root["added_tokens"] = std::move(added);
  if (!root.contains("normalizer")) root["normalizer"] = nullptr;
  root["post_processor"] = template_processing(vocab, vocab.tokens, llama);
  return Tokenizer::from_json_value(root, source);
}

}  // namespace citadel::runtime
