// bench_structured: prints the per-token mask cost of constrained decoding.
// Usage: bench_structured <tokenizer.json> [--synthetic N]
// For each case, the expected output text is tokenized and replayed: before
// each of its tokens the full vocabulary mask is computed (best of 3 timed), then the
// token is accepted. Prints vocabulary size, trie nodes and build time, then
// per case: tokens, mean / median / max ms per mask and allowed tokens.
#include "runtime/structured/json_schema_compiler.h"
#include "runtime/structured/structured_request.h"
#include "runtime/structured/token_constraint.h"
#include "runtime/structured/vocabulary_trie.h"
#include "runtime/text/tokenizer.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace structured = citadel::runtime::structured;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  const char* name;
  std::shared_ptr<const structured::Grammar> grammar;
  std::string text;
};

std::shared_ptr<const structured::Grammar> schema_grammar(const char* schema) {
  return std::make_shared<structured::Grammar>(structured::compile_json_schema(json::parse(schema)));
}

void run_case(const Case& c, const std::shared_ptr<const structured::VocabularyTrie>& vocabulary,
              const citadel::runtime::Tokenizer& tokenizer) {
  const std::vector<int32_t> tokens = tokenizer.encode(c.text, false);
  structured::TokenConstraint constraint(c.grammar, vocabulary, {});
  std::vector<uint8_t> allowed;
  std::vector<double> times;
  double allowed_sum = 0;
  for (int32_t token : tokens) {
    // The best of three: the machine may be shared.
    double best = 1e30;
    for (int repeat = 0; repeat < 3; ++repeat) {
      const auto start = Clock::now();
      constraint.compute_mask(allowed);
      best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    times.push_back(best);
    allowed_sum += static_cast<double>(std::count(allowed.begin(), allowed.end(), 1));
    if (!allowed[static_cast<size_t>(token)] || !constraint.accept(token)) {
      std::printf("  %-14s token %d of the expected text was refused: the case is wrong\n", c.name, token);
      return;
    }
  }
  // Where the slowest mask was: the text before it.
  const size_t slowest = static_cast<size_t>(std::max_element(times.begin(), times.end()) - times.begin());
  const std::string before = tokenizer.decode(std::span<const int32_t>(tokens.data(), slowest));
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double t : times) sum += t;
  std::printf("  %-14s %4zu tokens  mask ms: mean %7.3f  median %7.3f  max %7.3f  allowed/token %8.0f  complete=%d\n",
              c.name, times.size(), sum / static_cast<double>(times.size()), sorted[sorted.size() / 2], sorted.back(),
              allowed_sum / static_cast<double>(times.size()), constraint.complete() ? 1 : 0);
  std::printf("  %-14s slowest after: ...%s\n", "", before.substr(before.size() > 40 ? before.size() - 40 : 0).c_str());
}

void run_all(const std::shared_ptr<const structured::VocabularyTrie>& vocabulary,
             const citadel::runtime::Tokenizer& tokenizer, const std::vector<Case>& cases) {
  for (const Case& c : cases) run_case(c, vocabulary, tokenizer);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <tokenizer.json> [--synthetic N]\n", argv[0]);
    return 2;
  }
  const citadel::runtime::Tokenizer tokenizer = citadel::runtime::Tokenizer::from_file(argv[1]);
  size_t synthetic = 0;
  for (int i = 2; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--synthetic") synthetic = std::strtoul(argv[i + 1], nullptr, 10);

  std::vector<Case> cases;
  {
    auto grammar = std::make_shared<structured::Grammar>();
    grammar->root = structured::add_any_object(*grammar);
    cases.push_back({"json_object", grammar,
                     R"({"name": "Ada Lovelace", "born": 1815, "fields": ["mathematics", "computing"], "notes": {"first program": true, "quote": "The Analytical Engine weaves algebraic patterns."}})"});
  }
  cases.push_back({"tool_schema", schema_grammar(R"({"type": "object", "properties": {
      "location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
      "days": {"type": "integer", "minimum": 1, "maximum": 14},
      "hours": {"type": "array", "items": {"type": "number"}, "maxItems": 8}},
      "required": ["location", "unit"], "additionalProperties": false})"),
                   R"({"location": "San Francisco, California", "unit": "fahrenheit", "days": 7, "hours": [6.5, 12, 18.25]})"});
  {
    json::object input = json::parse(R"({"tools": [{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "search", "parameters": {"type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}}}],
        "tool_choice": "required"})").as_object();
    cases.push_back({"hermes_call",
                     structured::request_grammar(structured::parse_structured_request(input),
                                                 citadel::runtime::ChatStyle::chatml),
                     "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"weather in Paris tomorrow\", \"limit\": 5}}\n</tool_call>"});
    input["tool_choice"] = "auto";
    cases.push_back({"hermes_auto",
                     structured::request_grammar(structured::parse_structured_request(input),
                                                 citadel::runtime::ChatStyle::chatml),
                     "I will look that up for you, one moment.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"weather in Paris\"}}\n</tool_call>"});
  }

  auto start = Clock::now();
  auto vocabulary = std::make_shared<const structured::VocabularyTrie>(structured::VocabularyTrie::from_tokenizer(tokenizer));
  double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::printf("%s: vocabulary %zu tokens, trie %zu nodes (max depth %u), built in %.1f ms\n", argv[1],
              vocabulary->vocab_size(), vocabulary->node_count(), vocabulary->max_depth(), build_ms);
  run_all(vocabulary, tokenizer, cases);

  if (synthetic > vocabulary->vocab_size()) {
    // The real tokens plus joined pairs of them (up to 16 bytes), as larger
    // vocabularies (Llama-3 128k, Qwen2 152k) mostly add longer words.
    std::vector<std::pair<int32_t, std::string>> tokens;
    for (size_t id = 0; id < vocabulary->vocab_size(); ++id)
      tokens.emplace_back(static_cast<int32_t>(id), vocabulary->token_bytes(static_cast<int32_t>(id)));
    std::mt19937 random(7);
    std::uniform_int_distribution<size_t> pick(0, vocabulary->vocab_size() - 1);
    while (tokens.size() < synthetic) {
      std::string joined = vocabulary->token_bytes(static_cast<int32_t>(pick(random))) +
                           vocabulary->token_bytes(static_cast<int32_t>(pick(random)));
      if (joined.size() > 16 || joined.empty()) continue;
      tokens.emplace_back(static_cast<int32_t>(tokens.size()), std::move(joined));
    }
    start = Clock::now();
    auto large = std::make_shared<const structured::VocabularyTrie>(std::move(tokens), synthetic);
    build_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::printf("synthetic: vocabulary %zu tokens, trie %zu nodes (max depth %u), built in %.1f ms\n",
                large->vocab_size(), large->node_count(), large->max_depth(), build_ms);
    run_all(large, tokenizer, cases);
  }
  return 0;
}
