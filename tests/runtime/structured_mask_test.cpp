// Token masks of constrained decoding against brute force, and random
// constrained generations over real tokenizers that must parse and validate.
#include "runtime/structured/json_schema_compiler.h"
#include "runtime/structured/structured_request.h"
#include "runtime/structured/token_constraint.h"
#include "runtime/text/tokenizer.h"
#include "runtime/structured_test_support.hpp"
#include "support/test_support.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <random>

namespace structured = citadel::runtime::structured;
namespace json = boost::json;
using citadel::runtime::Tokenizer;

namespace {

Tokenizer test_tokenizer(const std::string& name) {
  return Tokenizer::from_file(citadel::test::source_dir() / "tests/data/tokenizer" / name / "tokenizer.json");
}

// What the mask must be: each token's bytes fed through the matcher one by one.
std::vector<uint8_t> brute_force_mask(const std::shared_ptr<const structured::Grammar>& grammar,
                                      const structured::VocabularyTrie& vocabulary, const std::string& prefix) {
  structured::GrammarMatcher matcher(grammar);
  structured::StateSet state = matcher.initial(), next;
  for (char c : prefix) {
    REQUIRE(matcher.advance(state, static_cast<uint8_t>(c), next));
    std::swap(state, next);
  }
  std::vector<uint8_t> mask(vocabulary.vocab_size(), 0);
  for (size_t id = 0; id < vocabulary.vocab_size(); ++id) {
    const std::string& bytes = vocabulary.token_bytes(static_cast<int32_t>(id));
    if (bytes.empty()) continue;
    structured::StateSet current = state;
    bool ok = true;
    for (char c : bytes) {
      if (!matcher.advance(current, static_cast<uint8_t>(c), next)) {
        ok = false;
        break;
      }
      std::swap(current, next);
    }
    mask[id] = ok;
  }
  return mask;
}

// The text as tokens, longest vocabulary match first (tokenizers may add a
// prefix space; a model's own tokens never need to).
std::vector<int32_t> greedy_tokens(const structured::VocabularyTrie& vocabulary, const std::string& text) {
  std::map<std::string, int32_t> by_bytes;
  for (size_t id = 0; id < vocabulary.vocab_size(); ++id) {
    const std::string& bytes = vocabulary.token_bytes(static_cast<int32_t>(id));
    if (!bytes.empty()) by_bytes.emplace(bytes, static_cast<int32_t>(id));
  }
  std::vector<int32_t> tokens;
  size_t at = 0;
  while (at < text.size()) {
    size_t length = std::min<size_t>(24, text.size() - at);
    while (length > 0 && !by_bytes.count(text.substr(at, length))) --length;
    REQUIRE(length > 0);
    tokens.push_back(by_bytes.at(text.substr(at, length)));
    at += length;
  }
  return tokens;
}

}  // namespace

TEST_CASE("The trie walk gives the brute-force mask at every step of real texts", "[structured]") {
  struct Case {
    const char* schema;
    const char* text;
  };
  const std::vector<Case> cases = {
      {R"({"type": "object"})", R"({"name": "Zo\u00eb \"Z\" \u00e9t\u00e9", "n": [1, -2.5e3, true, null], "o": {}})"},
      {R"({"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
          "days": {"type": "integer", "minimum": 1, "maximum": 14}}, "required": ["city"]})",
       R"({"city": "Paris, \u00eele", "days": 13})"},
      {R"({"type": "array", "items": {"enum": ["red", "green", 7]}, "maxItems": 3})", R"(["green", 7, "red"])"},
  };
  for (const char* name : {"gpt2", "llama3", "qwen2", "spm/spm_llama2", "spm/unigram_t5"}) {
    const Tokenizer tokenizer = test_tokenizer(name);
    auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
    for (const Case& c : cases) {
      auto grammar = std::make_shared<const structured::Grammar>(structured::compile_json_schema(json::parse(c.schema)));
      structured::TokenConstraint constraint(grammar, vocabulary, {});
      const std::vector<int32_t> tokens = greedy_tokens(*vocabulary, c.text);
      std::string prefix;
      std::vector<uint8_t> mask;
      for (int32_t token : tokens) {
        constraint.compute_mask(mask);
        INFO(name << " schema " << c.schema << " after: " << prefix);
        REQUIRE(mask == brute_force_mask(grammar, *vocabulary, prefix));
        REQUIRE(mask[static_cast<size_t>(token)]);
        REQUIRE(constraint.accept(token));
        prefix += vocabulary->token_bytes(token);
      }
      CHECK(constraint.complete());
    }
  }
}

TEST_CASE("Tool choice auto: free text, well-formed Hermes calls, masks as brute force", "[structured]") {
  json::object input = json::parse(R"({"tools": [{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
      "tool_choice": "auto"})").as_object();
  const auto grammar = structured::request_grammar(structured::parse_structured_request(input),
                                                   citadel::runtime::ChatStyle::chatml);
  REQUIRE(grammar);
  structured::GrammarMatcher matcher(grammar);
  auto matches = [&](const std::string& text) {
    structured::StateSet state = matcher.initial(), next;
    for (char c : text) {
      if (!matcher.advance(state, static_cast<uint8_t>(c), next)) return -1;
      std::swap(state, next);
    }
    return matcher.can_end(state) ? 1 : 0;
  };
  CHECK(matches("Plain text with <b>tags</b> and a <tool_cal") == 1);
  CHECK(matches("") == 1);
  CHECK(matches("Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>") == 1);
  CHECK(matches("x<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call> done <tool_call>\n") == 0);
  CHECK(matches("<tool_call>\n{\"name\": \"get_weather\"") == 0);
  CHECK(matches("<tool_call>\n{\"name\": \"search\"") == -1);
  CHECK(matches("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}") == -1);  // city is required
  CHECK(matches("<<tool_call>\n{") == 0);

  const Tokenizer tokenizer = test_tokenizer("qwen2");
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  const std::string text =
      "Sure <b>now</b>: < <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"O<s>lo\"}}\n</tool_call>\nDone.";
  structured::TokenConstraint constraint(grammar, vocabulary, {});
  std::string prefix;
  std::vector<uint8_t> mask;
  for (int32_t token : greedy_tokens(*vocabulary, text)) {
    constraint.compute_mask(mask);
    INFO("after: " << prefix);
    REQUIRE(mask == brute_force_mask(grammar, *vocabulary, prefix));
    REQUIRE(constraint.accept(token));
    prefix += vocabulary->token_bytes(token);
  }
  CHECK(constraint.complete());
}

TEST_CASE("Random auto-mode generations: every opened tool call is well formed", "[structured]") {
  std::mt19937_64 random(77);
  const Tokenizer tokenizer = test_tokenizer("qwen2");
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  const json::value parameters = json::parse(R"({"type": "object", "properties": {"city": {"type": "string", "maxLength": 6},
      "days": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["city", "days"]})");
  json::object input{{"tools", json::array{json::object{{"type", "function"},
                                                        {"function", json::object{{"name", "f"}, {"parameters", parameters}}}}}},
                     {"tool_choice", "auto"}};
  const auto grammar = structured::request_grammar(structured::parse_structured_request(input),
                                                   citadel::runtime::ChatStyle::chatml);
  const std::vector<int32_t> tag = greedy_tokens(*vocabulary, "<tool_call>");
  int calls = 0;
  for (int run = 0; run < 30; ++run) {
    structured::TokenConstraint constraint(grammar, vocabulary, {});
    std::string text;
    std::vector<uint8_t> mask;
    for (int step = 0; step < 300 && !constraint.terminated(); ++step) {
      // Now and then open a call (the tag's tokens); otherwise a random allowed
      // token, preferring ones that close what is open.
      auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
        return n;
      };
      const bool in_text = count("<tool_call>") == count("</tool_call>");
      if (in_text && random() % 12 == 0 && constraint.accept(tag[0])) {
        text += vocabulary->token_bytes(tag[0]);
        for (size_t i = 1; i < tag.size(); ++i) {
          REQUIRE(constraint.accept(tag[i]));
          text += vocabulary->token_bytes(tag[i]);
        }
        continue;
      }
      constraint.compute_mask(mask);
      std::vector<int32_t> allowed, closing;
      for (size_t id = 0; id < mask.size(); ++id) {
        if (!mask[id]) continue;
        allowed.push_back(static_cast<int32_t>(id));
        if (vocabulary->token_bytes(static_cast<int32_t>(id)).find_first_of("\"}]<") != std::string::npos)
          closing.push_back(static_cast<int32_t>(id));
      }
      REQUIRE_FALSE(allowed.empty());
      const std::vector<int32_t>& from = !closing.empty() && random() % 2 ? closing : allowed;
      const int32_t token = from[random() % from.size()];
      REQUIRE(constraint.accept(token));
      text += vocabulary->token_bytes(token);
    }
    // Every complete block is a valid call; an open one is a prefix of one.
    INFO(text);
    size_t at = 0;
    while ((at = text.find("<tool_call>", at)) != std::string::npos) {
      const size_t end = text.find("</tool_call>", at);
      if (end == std::string::npos) break;
      REQUIRE(text.substr(at, 12) == "<tool_call>\n");
      const json::value call = json::parse(text.substr(at + 12, end - at - 13));
      CHECK(call.at("name") == "f");
      CHECK(citadel::test::validate(parameters, call.at("arguments"), parameters).empty());
      ++calls;
      at = end;
    }
  }
  CHECK(calls >= 10);
}

TEST_CASE("End tokens are allowed only once the text is a complete match", "[structured]") {
  const Tokenizer tokenizer = test_tokenizer("qwen2");
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  const int32_t end = *tokenizer.token_to_id("<|im_end|>");
  auto grammar = std::make_shared<const structured::Grammar>(structured::compile_json_schema(json::parse(R"({"type": "integer"})")));
  structured::TokenConstraint constraint(grammar, vocabulary, {end});
  std::vector<uint8_t> mask;
  constraint.compute_mask(mask);
  CHECK_FALSE(mask[static_cast<size_t>(end)]);
  CHECK_FALSE(constraint.accept(end));
  for (int32_t token : greedy_tokens(*vocabulary, "42")) REQUIRE(constraint.accept(token));
  constraint.compute_mask(mask);
  CHECK(mask[static_cast<size_t>(end)]);
  CHECK(constraint.accept(end));
  constraint.compute_mask(mask);
  CHECK(std::count(mask.begin(), mask.end(), 1) == 0);
}

TEST_CASE("Random constrained generations over random schemas parse and validate", "[structured]") {
  std::mt19937_64 random(20261202);
  const Tokenizer tokenizer = test_tokenizer("llama3");
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  int completed = 0;
  constexpr int kRuns = 150;
  for (int run = 0; run < kRuns; ++run) {
    const json::value schema = citadel::test::random_schema(random, 3);
    INFO("schema " << json::serialize(schema));
    auto grammar = std::make_shared<const structured::Grammar>(structured::compile_json_schema(schema));
    const std::optional<std::string> text = citadel::test::random_generation(random, grammar, vocabulary, 400);
    if (!text) continue;
    INFO("text " << *text);
    boost::system::error_code error;
    const json::value value = json::parse(*text, error);
    REQUIRE_FALSE(error);
    CHECK(citadel::test::validate(schema, value, schema).empty());
    ++completed;
  }
  CHECK(completed > kRuns * 3 / 4);
}

TEST_CASE("Random Hermes and Llama tool calls follow their function's parameters", "[structured]") {
  std::mt19937_64 random(8);
  const Tokenizer tokenizer = test_tokenizer("qwen2");
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  int completed = 0;
  for (int run = 0; run < 40; ++run) {
    json::array tools;
    std::vector<json::value> parameters;
    for (int f = 0; f < 3; ++f) {
      json::object object_schema{{"type", "object"}};
      json::object properties;
      json::array required;
      for (int p = 0; p < 3; ++p) {
        const std::string name = "p" + std::to_string(p);
        properties[name] = citadel::test::random_schema(random, 1);
        if (random() % 2) required.push_back(json::value(name));
      }
      object_schema["properties"] = std::move(properties);
      object_schema["required"] = std::move(required);
      parameters.push_back(object_schema);
      tools.push_back(json::object{{"type", "function"},
                                   {"function", json::object{{"name", "f" + std::to_string(f)},
                                                             {"parameters", object_schema}}}});
    }
    const bool hermes = run % 2 == 0;
    json::object input{{"tools", tools}, {"tool_choice", "required"}};
    auto grammar = structured::request_grammar(structured::parse_structured_request(input),
                                               hermes ? citadel::runtime::ChatStyle::chatml
                                                      : citadel::runtime::ChatStyle::llama3);
    const std::optional<std::string> text = citadel::test::random_generation(random, grammar, vocabulary, 400);
    if (!text) continue;
    INFO("text " << *text);
    std::vector<std::string> calls;
    if (hermes) {
      size_t at = 0;
      while ((at = text->find("<tool_call>\n", at)) != std::string::npos) {
        const size_t end = text->find("\n</tool_call>", at);
        REQUIRE(end != std::string::npos);
        calls.push_back(text->substr(at + 12, end - at - 12));
        at = end;
      }
    } else {
      calls.push_back(*text);
    }
    REQUIRE_FALSE(calls.empty());
    for (const std::string& call_text : calls) {
      const json::value call = json::parse(call_text);
      const std::string name(call.at("name").as_string());
      const size_t f = static_cast<size_t>(name.at(1) - '0');
      const json::value& arguments = call.at(hermes ? "arguments" : "parameters");
      CHECK(citadel::test::validate(parameters.at(f), arguments, parameters.at(f)).empty());
    }
    ++completed;
  }
  CHECK(completed > 30);
}
