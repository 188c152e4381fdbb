// The JSON-schema compiler and byte matcher: accept / reject vectors.
#include "runtime/structured/grammar_matcher.h"
#include "runtime/structured/json_schema_compiler.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace structured = citadel::runtime::structured;
namespace json = boost::json;

namespace {

std::shared_ptr<const structured::Grammar> grammar_of(const std::string& schema) {
  return std::make_shared<structured::Grammar>(structured::compile_json_schema(json::parse(schema)));
}

// 1: complete match, 0: a prefix of some match, -1: rejected.
int match(const std::shared_ptr<const structured::Grammar>& grammar, const std::string& text) {
  structured::GrammarMatcher matcher(grammar);
  structured::StateSet state = matcher.initial(), next;
  for (char c : text) {
    if (!matcher.advance(state, static_cast<uint8_t>(c), next)) return -1;
    std::swap(state, next);
  }
  return matcher.can_end(state) ? 1 : 0;
}

}  // namespace

TEST_CASE("A weather-tool schema accepts its values and nothing else", "[structured]") {
  const auto grammar = grammar_of(R"({
    "type": "object",
    "properties": {
      "location": {"type": "string", "description": "City"},
      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
      "days": {"type": "integer", "minimum": 1, "maximum": 14}
    },
    "required": ["location"],
    "additionalProperties": false})");
  CHECK(match(grammar, R"({"location": "Paris"})") == 1);
  CHECK(match(grammar, R"({"location":"Paris","unit":"celsius","days":7})") == 1);
  CHECK(match(grammar, "{\n  \"location\": \"Z\\u00fcrich\",\n  \"days\": 14\n}") == 1);
  CHECK(match(grammar, R"({"location": "Paris", "days": 14})") == 1);
  CHECK(match(grammar, R"({"location": "Paris")") == 0);
  CHECK(match(grammar, R"({"location": "Paris", "days": 1)") == 0);
  CHECK(match(grammar, R"({"location": "Paris", "days": 15})") == -1);
  CHECK(match(grammar, R"({"location": "Paris", "days": 0})") == -1);
  CHECK(match(grammar, R"({"location": "Paris", "days": -1})") == -1);
  CHECK(match(grammar, R"({"location": "Paris", "unit": "kelvin"})") == -1);
  CHECK(match(grammar, R"({"unit": "celsius"})") == -1);        // location is required first
  CHECK(match(grammar, R"({})") == -1);
  CHECK(match(grammar, R"({"location": "Paris", "extra": 1})") == -1);
  CHECK(match(grammar, R"({"location": "Paris", "location": "x"})") == -1);
  CHECK(match(grammar, R"({"location": "Paris",})") == -1);
  CHECK(match(grammar, R"( {"location": "Paris"})") == -1);      // no leading whitespace
  CHECK(match(grammar, R"({"location": "Paris"} )") == -1);      // nor trailing
  CHECK(match(grammar, "{\"location\": \"a\nb\"}") == -1);      // raw control character
  CHECK(match(grammar, "{\"location\": \"\xC3\xA9\"}") == 1);     // UTF-8
  CHECK(match(grammar, "{\"location\": \"\xC3\x28\"}") == -1);    // broken UTF-8
  CHECK(match(grammar, "{\"location\": \"\xED\xA0\x80\"}") == -1);  // encoded surrogate
  CHECK(match(grammar, R"({"location": "\ud800"})") == -1);     // escaped surrogate
  CHECK(match(grammar, "{\n" + std::string(23, ' ') + "\"location\": \"P\"}") == 1);
  CHECK(match(grammar, "{\n" + std::string(24, ' ') + "\"location\": \"P\"}") == -1);  // more than 24 in a row
}

TEST_CASE("Numbers follow the JSON grammar with bounded digits", "[structured]") {
  const auto number = grammar_of(R"({"type": "number"})");
  for (const char* good : {"0", "-0", "12", "-3.25", "1e5", "1.5E-3", "0.0", "6.02e+23"})
    CHECK(match(number, good) == 1);
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "--1", "1.2.3", "NaN", "1e123"})
    CHECK(match(number, bad) != 1);
  const auto integer = grammar_of(R"({"type": "integer"})");
  CHECK(match(integer, "42") == 1);
  CHECK(match(integer, "4.2") == -1);
  CHECK(match(integer, "4e2") == -1);
  CHECK(match(integer, "1234567890123456") == -1);  // 16 digits
  const auto bounded = grammar_of(R"({"type": "integer", "minimum": -20, "exclusiveMaximum": 100})");
  CHECK(match(bounded, "-20") == 1);
  CHECK(match(bounded, "-21") == -1);
  CHECK(match(bounded, "99") == 1);
  CHECK(match(bounded, "100") == -1);
  CHECK(match(bounded, "-3") == 1);
  const auto positive = grammar_of(R"({"type": "number", "minimum": 0, "maximum": 3})");
  CHECK(match(positive, "3") == 1);
  CHECK(match(positive, "2.75") == 1);
  CHECK(match(positive, "0.5") == 1);
  CHECK(match(positive, "3.5") == -1);
  CHECK(match(positive, "-0.5") == -1);
  CHECK(match(positive, "-1") == -1);
  CHECK(match(positive, "4") == -1);
  CHECK(match(positive, "1e0") == -1);
  const auto around_zero = grammar_of(R"({"type": "number", "minimum": -1, "maximum": 1})");
  CHECK(match(around_zero, "-0.25") == 1);
  CHECK(match(around_zero, "-1.5") == -1);
  const auto map = grammar_of(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
  CHECK(match(map, R"({"a": 1, "b b": 2})") == 1);
  CHECK(match(map, R"({"a": "x"})") == -1);
}

TEST_CASE("Arrays count their items, strings their code points", "[structured]") {
  const auto tags = grammar_of(R"({"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 3},
                                   "minItems": 1, "maxItems": 2})");
  CHECK(match(tags, R"(["a"])") == 1);
  CHECK(match(tags, R"(["abc", "\u00e9\u00e9\u00e9"])") == 1);
  CHECK(match(tags, "[\"\xC3\xA9\xC3\xA9\xC3\xA9\"]") == 1);  // 3 code points, 6 bytes
  CHECK(match(tags, R"([])") == -1);
  CHECK(match(tags, R"([""])") == -1);
  CHECK(match(tags, R"(["abcd"])") == -1);
  CHECK(match(tags, R"(["a", "b", "c"])") == -1);
  CHECK(match(tags, R"(["a",])") == -1);
}

TEST_CASE("anyOf, type lists, $ref and recursion", "[structured]") {
  const auto tree = grammar_of(R"({
    "$defs": {"node": {"type": "object",
                       "properties": {"value": {"type": ["integer", "null"]},
                                      "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                       "required": ["value"]}},
    "$ref": "#/$defs/node"})");
  CHECK(match(tree, R"({"value": 1})") == 1);
  CHECK(match(tree, R"({"value": null, "children": [{"value": 2, "children": []}, {"value": 3}]})") == 1);
  CHECK(match(tree, R"({"value": "x"})") == -1);
  CHECK(match(tree, R"({"value": 1, "children": [{}]})") == -1);

  const auto either = grammar_of(R"({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "string", "minLength": 4},
                                               {"const": {"k": [1, true]}}]})");
  CHECK(match(either, R"("ab")") == 1);
  CHECK(match(either, R"("abcd")") == 1);
  CHECK(match(either, R"("abc")") == -1);
  CHECK(match(either, R"({"k":[1,true]})") == 1);
  CHECK(match(either, R"({"k": [1, true]})") == -1);  // const values match their compact form
  const auto any = grammar_of("{}");
  CHECK(match(any, R"({"a": [1, 2.5, "x", null, {"b": false}]})") == 1);
  CHECK(match(any, R"([1, 2)") == 0);
  CHECK(match(any, "tru") == 0);
  CHECK(match(any, "true") == 1);
  CHECK(match(any, "trux") == -1);
  const auto enums = grammar_of(R"({"enum": [1, 10, 100]})");
  CHECK(match(enums, "1") == 1);
  CHECK(match(enums, "10") == 1);
  CHECK(match(enums, "1000") == -1);
}

TEST_CASE("Unsupported keywords are refused with their path", "[structured]") {
  auto error_of = [](const std::string& schema) -> std::string {
    try {
      structured::compile_json_schema(json::parse(schema));
    } catch (const structured::SchemaError& error) {
      return error.what();
    }
    return "";
  };
  CHECK_THAT(error_of(R"({"type": "object", "properties": {"when": {"type": "string", "pattern": "^[0-9]+$"}}})"),
             Catch::Contains("#/properties/when/pattern") && Catch::Contains("'pattern' is not supported"));
  CHECK_THAT(error_of(R"({"type": "integer", "multipleOf": 2})"), Catch::Contains("#/multipleOf"));
  CHECK_THAT(error_of(R"({"$ref": "#/$defs/missing"})"), Catch::Contains("points at nothing"));
  CHECK_THAT(error_of(R"({"type": "string", "minLength": 3, "maxLength": 2})"), Catch::Contains("minLength"));
  CHECK_THAT(error_of(R"({"type": "object", "properties": {"a": {}}, "required": ["b"]})"),
             Catch::Contains("'b', which is not in properties"));
  CHECK_THAT(error_of(R"({"anyOf": [{"$ref": "#"}]})"), Catch::Contains("refers to itself"));
  CHECK_THAT(error_of(R"({"type": "float"})"), Catch::Contains("unknown type 'float'"));
  CHECK(error_of(R"({"type": "object", "title": "T", "description": "d", "properties": {"a": {"type": "string",
                      "format": "date-time", "default": "x"}}})").empty());
}
