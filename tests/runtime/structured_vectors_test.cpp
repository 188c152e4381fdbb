// The matcher against the jsonschema package: tests/data/structured/vectors.json
// (tools/make_structured_vectors.py) holds real schemas and texts labelled
// valid or not by jsonschema. The matcher may accept a text only if it is
// valid, and must accept every valid text in its canonical form (schema
// order, ", " / ": " separators).
#include "runtime/structured/grammar_matcher.h"
#include "runtime/structured/json_schema_compiler.h"
#include "support/test_support.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

namespace structured = citadel::runtime::structured;
namespace json = boost::json;

TEST_CASE("The matcher accepts only what jsonschema validates, and every canonical valid text",
          "[structured]") {
  std::ifstream file(citadel::test::source_dir() / "tests/data/structured/vectors.json");
  REQUIRE(file);
  const json::value vectors = json::parse(std::string(std::istreambuf_iterator<char>(file), {}));
  size_t accepted = 0, cases = 0;
  for (const json::value& entry : vectors.as_array()) {
    auto grammar = std::make_shared<const structured::Grammar>(structured::compile_json_schema(entry.at("schema")));
    structured::GrammarMatcher matcher(grammar);
    for (const json::value& item : entry.at("cases").as_array()) {
      const std::string text(item.at("text").as_string());
      structured::StateSet state = matcher.initial(), next;
      bool alive = true;
      for (char c : text) {
        if (!matcher.advance(state, static_cast<uint8_t>(c), next)) {
          alive = false;
          break;
        }
        std::swap(state, next);
      }
      const bool matched = alive && matcher.can_end(state);
      INFO(entry.at("name").as_string() << ": " << text);
      if (matched) CHECK(item.at("valid").as_bool());
      if (item.at("valid").as_bool() && item.at("canonical").as_bool()) CHECK(matched);
      accepted += matched;
      ++cases;
    }
  }
  CHECK(cases > 100);
  CHECK(accepted > 20);
}
