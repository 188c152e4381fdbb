// Helpers of the structured-output tests: random JSON schemas of the
// supported subset, random constrained generations (a random walk over the
// allowed tokens, biased towards closing what is open), and an independent
// validator of a value against such a schema (a list of problems, empty when
// valid). Header-only; used by tests/runtime/structured_*_test.cpp.
#pragma once

#include "runtime/structured/token_constraint.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace citadel::test {

inline boost::json::value random_schema(std::mt19937_64& random, int depth) {
  namespace json = boost::json;
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<uint64_t>(n)); };
  const int kind = pick(depth > 0 ? 11 : 7);
  switch (kind) {
    case 0: {
      json::object schema{{"type", "string"}};
      if (pick(2)) schema["maxLength"] = pick(6) + 1;
      if (pick(3) == 0) schema["minLength"] = 1;
      return schema;
    }
    case 1: {
      json::object schema{{"type", "integer"}};
      if (pick(2)) schema["minimum"] = pick(50) - 25;
      if (pick(2)) schema["maximum"] = 30 + pick(500);
      return schema;
    }
    case 2: {
      json::object schema{{"type", "number"}};
      if (pick(2)) {
        schema["minimum"] = pick(5) - 2;
        schema["maximum"] = 3 + pick(5);
      }
      return schema;
    }
    case 3: return json::object{{"type", "boolean"}};
    case 4: return json::object{{"enum", json::array{"red", "green", 7, nullptr}}};
    case 5: return json::object{{"type", json::array{"string", "null"}}, {"maxLength", 4}};
    case 6: return json::object{{"const", "fixed"}};
    case 7:
    case 8: {
      json::object properties;
      json::array required;
      const int count = pick(4) + 1;
      for (int i = 0; i < count; ++i) {
        const std::string name = std::string(1, static_cast<char>('a' + i)) + (pick(2) ? "_key" : "");
        properties[name] = random_schema(random, depth - 1);
        if (pick(2)) required.push_back(json::value(name));
      }
      return json::object{{"type", "object"}, {"properties", std::move(properties)},
                          {"required", std::move(required)}, {"additionalProperties", false}};
    }
    case 9: {
      json::object schema{{"type", "array"}, {"items", random_schema(random, depth - 1)}};
      if (pick(2)) schema["maxItems"] = pick(4);
      if (pick(3) == 0) schema["minItems"] = 1;
      if (schema.contains("maxItems") && schema.contains("minItems") && schema["maxItems"].as_int64() < 1)
        schema["maxItems"] = 1;
      return schema;
    }
    default:
      return json::object{{"anyOf", json::array{json::object{{"type", "integer"}}, random_schema(random, depth - 1)}}};
  }
}

// A random walk over the tokens the constraint allows; the text, or nullopt
// when it did not complete within `max_tokens`.
inline std::optional<std::string> random_generation(std::mt19937_64& random,
                                                    std::shared_ptr<const runtime::structured::Grammar> grammar,
                                                    std::shared_ptr<const runtime::structured::VocabularyTrie> vocabulary,
                                                    int max_tokens) {
  runtime::structured::TokenConstraint constraint(std::move(grammar), vocabulary, {});
  std::string text;
  std::vector<uint8_t> mask;
  for (int step = 0; step < max_tokens; ++step) {
    if (constraint.terminated()) return text;
    if (constraint.complete() && random() % 3 == 0) return text;
    constraint.compute_mask(mask);
    std::vector<int32_t> allowed, closing;
    for (size_t id = 0; id < mask.size(); ++id) {
      if (!mask[id]) continue;
      allowed.push_back(static_cast<int32_t>(id));
      const std::string& bytes = vocabulary->token_bytes(static_cast<int32_t>(id));
      if (bytes.find_first_of("\"]}") != std::string::npos || (bytes.size() <= 2 && random() % 4 == 0))
        closing.push_back(static_cast<int32_t>(id));
    }
    if (allowed.empty()) return std::nullopt;  // a dead end: the test fails on it
    const std::vector<int32_t>& from = !closing.empty() && random() % 2 ? closing : allowed;
    const int32_t token = from[random() % from.size()];
    if (!constraint.accept(token)) return std::nullopt;
    text += vocabulary->token_bytes(token);
  }
  return constraint.complete() ? std::optional<std::string>(text) : std::nullopt;
}

inline size_t code_points(const std::string& text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

inline bool json_equal(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

// Problems of `value` against `schema` ($ref resolved in `root`); empty: valid.
inline std::vector<std::string> validate(const boost::json::value& schema, const boost::json::value& value,
                                         const boost::json::value& root) {
  namespace json = boost::json;
  std::vector<std::string> problems;
  if (schema.is_bool()) {
    if (!schema.as_bool()) problems.push_back("false schema");
    return problems;
  }
  const json::object& s = schema.as_object();
  if (const json::value* ref = s.if_contains("$ref")) {
    std::string pointer(ref->as_string());
    return validate(root.at_pointer(pointer.substr(1)), value, root);
  }
  if (const json::value* options = s.if_contains("anyOf")) {
    for (const json::value& option : options->as_array())
      if (validate(option, value, root).empty()) return problems;
    problems.push_back("no anyOf alternative matches");
    return problems;
  }
  if (const json::value* values = s.if_contains("enum")) {
    for (const json::value& allowed : values->as_array())
      if (json_equal(allowed, value)) return problems;
    problems.push_back("not in enum");
    return problems;
  }
  if (const json::value* constant = s.if_contains("const")) {
    if (!json_equal(*constant, value)) problems.push_back("not the const");
    return problems;
  }
  if (const json::value* type = s.if_contains("type")) {
    std::vector<std::string> types;
    if (type->is_string()) types.emplace_back(type->as_string());
    else for (const json::value& name : type->as_array()) types.emplace_back(name.as_string());
    auto has = [&](const char* name) { return std::find(types.begin(), types.end(), name) != types.end(); };
    const bool integral = value.is_int64() || value.is_uint64() ||
                          (value.is_double() && std::floor(value.as_double()) == value.as_double());
    const bool ok = (value.is_string() && has("string")) || (value.is_number() && has("number")) ||
                    (integral && has("integer")) || (value.is_bool() && has("boolean")) ||
                    (value.is_null() && has("null")) || (value.is_object() && has("object")) ||
                    (value.is_array() && has("array"));
    if (!ok) {
      problems.push_back("wrong type: " + json::serialize(value));
      return problems;
    }
  }
  if (value.is_string()) {
    const size_t length = code_points(std::string(value.as_string()));
    if (const json::value* n = s.if_contains("maxLength"); n && length > n->to_number<size_t>()) problems.push_back("too long");
    if (const json::value* n = s.if_contains("minLength"); n && length < n->to_number<size_t>()) problems.push_back("too short");
  }
  if (value.is_number()) {
    const double number = value.to_number<double>();
    if (const json::value* n = s.if_contains("minimum"); n && number < n->to_number<double>()) problems.push_back("below minimum");
    if (const json::value* n = s.if_contains("maximum"); n && number > n->to_number<double>()) problems.push_back("above maximum");
  }
  if (value.is_array()) {
    const json::array& items = value.as_array();
    if (const json::value* n = s.if_contains("maxItems"); n && items.size() > n->to_number<size_t>()) problems.push_back("too many items");
    if (const json::value* n = s.if_contains("minItems"); n && items.size() < n->to_number<size_t>()) problems.push_back("too few items");
    if (const json::value* item_schema = s.if_contains("items"))
      for (const json::value& item : items)
        for (std::string& problem : validate(*item_schema, item, root)) problems.push_back("item: " + problem);
  }
  if (value.is_object()) {
    const json::object& object = value.as_object();
    const json::object* properties = s.contains("properties") ? &s.at("properties").as_object() : nullptr;
    if (const json::value* required = s.if_contains("required"))
      for (const json::value& name : required->as_array())
        if (!object.contains(name.as_string())) problems.push_back("missing " + std::string(name.as_string()));
    for (const auto& member : object) {
      const json::value* property = properties ? properties->if_contains(member.key()) : nullptr;
      if (property == nullptr) {
        const json::value* extra = s.if_contains("additionalProperties");
        if (extra && extra->is_bool() && !extra->as_bool()) problems.push_back("extra " + std::string(member.key()));
        continue;
      }
      for (std::string& problem : validate(*property, member.value(), root))
        problems.push_back(std::string(member.key()) + ": " + problem);
    }
  }
  return problems;
}

}  // namespace citadel::test
