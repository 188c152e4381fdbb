// JSON Schema -> Grammar (see json_schema_compiler.h for the subset).
#include "runtime/structured/json_schema_compiler.h"

#include <boost/json.hpp>

#include <cmath>
#include <map>
#include <set>

namespace citadel::runtime::structured {
namespace {

namespace json = boost::json;

const std::set<std::string> kAnnotations = {
    "title", "description", "default", "examples", "format", "$comment", "$schema", "$id",
    "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "contentMediaType",
    "contentEncoding", "discriminator", "x-order"};

const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};

// Keywords each type's node reads.
const std::map<std::string, std::set<std::string>> kTypeKeywords = {
    {"object", {"properties", "required", "additionalProperties"}},
    {"array", {"items", "minItems", "maxItems", "uniqueItems"}},
    {"string", {"minLength", "maxLength"}},
    {"number", {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}},
    {"integer", {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}},
    {"boolean", {}},
    {"null", {}}};

std::string pointer_token(const std::string& name) {
  std::string escaped;
  for (char c : name) {
    if (c == '~') escaped += "~0";
    else if (c == '/') escaped += "~1";
    else escaped += c;
  }
  return escaped;
}

class Compiler {
 public:
  Compiler(Grammar& grammar, const json::value& document, std::string where)
      : grammar_(grammar), document_(document), where_(std::move(where)) {}

  uint32_t compile_root() {
    const uint32_t root = compile_at("#", document_, 0);
    check_any_of_cycles();
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw SchemaError((where_.empty() ? std::string() : where_ + ": ") + "JSON schema " + path + ": " + what);
  }

  // Compiles the schema at `path` once (a $ref to it reuses the node).
  uint32_t compile_at(const std::string& path, const json::value& schema, int depth) {
    if (auto found = by_path_.find(path); found != by_path_.end()) return found->second;
    if (depth > 64) fail(path, "nests more than 64 levels");
    const uint32_t index = grammar_.add(GrammarNode{});
    by_path_[path] = index;
    GrammarNode node = build(path, schema, depth);
    node.path = path;
    grammar_.nodes[index] = std::move(node);
    return index;
  }

  uint32_t any_value() {
    if (!any_value_) any_value_ = add_any_value(grammar_);
    return *any_value_;
  }

  static GrammarNode alias(uint32_t target) {
    GrammarNode node;
    node.kind = NodeKind::any_of;
    node.children = {target};
    return node;
  }

  GrammarNode build(const std::string& path, const json::value& schema, int depth) {
    if (schema.is_bool()) {
      if (!schema.as_bool()) fail(path, "is false: no value can match it");
      return alias(any_value());
    }
    if (!schema.is_object()) fail(path, "must be an object or a boolean");
    const json::object& object = schema.as_object();

    std::set<std::string> used;
    for (const auto& entry : object) {
      const std::string key(entry.key());
      if (kAnnotations.count(key)) used.insert(key);
    }
    auto take = [&](const char* key) -> const json::value* {
      const json::value* value = object.if_contains(key);
      if (value != nullptr) used.insert(key);
      return value;
    };
    auto check_all_used = [&] {
      for (const auto& entry : object) {
        const std::string key(entry.key());
        if (!used.count(key)) fail(path + "/" + pointer_token(key), "keyword '" + key + "' is not supported");
      }
    };

    if (const json::value* ref = take("$ref")) {
      if (!ref->is_string()) fail(path + "/$ref", "must be a string");
      check_all_used();
      const std::string target(ref->as_string());
      return alias(resolve(path + "/$ref", target, depth));
    }
    if (const json::value* all_of = take("allOf")) {
      if (!all_of->is_array() || all_of->as_array().size() != 1)
        fail(path + "/allOf", "only an allOf with exactly one schema is supported");
      check_all_used();
      return alias(compile_at(path + "/allOf/0", all_of->as_array()[0], depth + 1));
    }
    for (const char* keyword : {"anyOf", "oneOf"}) {
      if (const json::value* options = take(keyword)) {
        if (!options->is_array() || options->as_array().empty())
          fail(path + "/" + keyword, "must be a non-empty array of schemas");
        check_all_used();  // type and friends beside anyOf would mean allOf
        GrammarNode node;
        node.kind = NodeKind::any_of;
        size_t i = 0;
        for (const json::value& option : options->as_array()) {
          node.children.push_back(
              compile_at(path + "/" + keyword + "/" + std::to_string(i), option, depth + 1));
          ++i;
        }
        return node;
      }
    }

    // The types this schema allows.
    std::vector<std::string> types;
    if (const json::value* type = take("type")) {
      if (type->is_string()) {
        types.emplace_back(type->as_string());
      } else if (type->is_array() && !type->as_array().empty()) {
        for (const json::value& name : type->as_array()) {
          if (!name.is_string()) fail(path + "/type", "must be a type name or a list of them");
          types.emplace_back(name.as_string());
        }
      } else {
        fail(path + "/type", "must be a type name or a non-empty list of them");
      }
      for (const std::string& name : types)
        if (!kTypes.count(name)) fail(path + "/type", "unknown type '" + name + "'");
    }

    const json::value* enum_values = take("enum");
    const json::value* const_value = take("const");
    if (enum_values || const_value) {
      for (const auto& [type, keywords] : kTypeKeywords)
        for (const std::string& keyword : keywords) take(keyword.c_str());  // implied by the values
      check_all_used();
      return literals(path, enum_values, const_value, types);
    }
    if (types.empty()) {
      // Infer the type from its keywords; none: any value.
      for (const auto& [type, keywords] : kTypeKeywords)
        for (const std::string& keyword : keywords)
          if (object.contains(keyword) && type != "integer" &&
              std::find(types.begin(), types.end(), type) == types.end())
            types.push_back(type);
    }
    for (const std::string& type : types)
      for (const std::string& keyword : kTypeKeywords.at(type)) take(keyword.c_str());
    check_all_used();
    if (types.empty()) return alias(any_value());
    if (types.size() == 1) return typed(path, types[0], object, depth);
    GrammarNode node;
    node.kind = NodeKind::any_of;
    for (const std::string& type : types) {
      const uint32_t index = grammar_.add(typed(path, type, object, depth));
      grammar_.nodes[index].path = path + "(" + type + ")";
      node.children.push_back(index);
    }
    return node;
  }

  uint32_t resolve(const std::string& path, const std::string& target, int depth) {
    if (target.empty() || target[0] != '#') fail(path, "only references into this document ('#...') are supported");
    const json::value* value = &document_;
    size_t at = 1;
    while (at < target.size()) {
      if (target[at] != '/') fail(path, "reference '" + target + "' is not a JSON pointer");
      const size_t end = std::min(target.find('/', at + 1), target.size());
      std::string token = target.substr(at + 1, end - at - 1);
      std::string decoded;
      for (size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~' && i + 1 < token.size()) {
          decoded += token[i + 1] == '1' ? '/' : '~';
          ++i;
        } else {
          decoded += token[i];
        }
      }
      if (value->is_object() && value->as_object().contains(decoded)) {
        value = &value->as_object().at(decoded);
      } else if (value->is_array() && !decoded.empty() &&
                 decoded.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(decoded) < value->as_array().size()) {
        value = &value->as_array()[std::stoul(decoded)];
      } else {
        fail(path, "reference '" + target + "' points at nothing");
      }
      at = end;
    }
    return compile_at(target == "#" ? "#" : target, *value, depth + 1);
  }

  GrammarNode literals(const std::string& path, const json::value* enum_values, const json::value* const_value,
                       const std::vector<std::string>& types) {
    GrammarNode node;
    node.kind = NodeKind::literals;
    std::vector<const json::value*> values;
    if (const_value) values.push_back(const_value);
    if (enum_values) {
      if (!enum_values->is_array()) fail(path + "/enum", "must be an array");
      if (const_value) fail(path + "/enum", "together with const is not supported");
      for (const json::value& value : enum_values->as_array()) values.push_back(&value);
    }
    int32_t count = 0;
    for (const json::value* value : values) {
      if (!types.empty() && !value_has_type(*value, types)) continue;
      node.literals.insert(json::serialize(*value), count++);
    }
    if (node.literals.empty())
      fail(path + (const_value ? "/const" : "/enum"), "allows no value (of the schema's type)");
    return node;
  }

  static bool value_has_type(const json::value& value, const std::vector<std::string>& types) {
    auto allowed = [&](const char* name) { return std::find(types.begin(), types.end(), name) != types.end(); };
    switch (value.kind()) {
      case json::kind::null: return allowed("null");
      case json::kind::bool_: return allowed("boolean");
      case json::kind::int64:
      case json::kind::uint64: return allowed("integer") || allowed("number");
      case json::kind::double_:
        return allowed("number") || (allowed("integer") && std::floor(value.as_double()) == value.as_double());
      case json::kind::string: return allowed("string");
      case json::kind::array: return allowed("array");
      case json::kind::object: return allowed("object");
    }
    return false;
  }

  std::optional<uint32_t> count_keyword(const std::string& path, const json::object& object, const char* key) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) return std::nullopt;
    int64_t n = -1;
    if (value->is_int64()) n = value->as_int64();
    else if (value->is_uint64()) n = static_cast<int64_t>(std::min<uint64_t>(value->as_uint64(), UINT32_MAX));
    else if (value->is_double() && std::floor(value->as_double()) == value->as_double()) n = static_cast<int64_t>(value->as_double());
    if (n < 0) fail(path + "/" + key, "must be a non-negative integer");
    return static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
  }

  GrammarNode typed(const std::string& path, const std::string& type, const json::object& object, int depth) {
    GrammarNode node;
    if (type == "object") return object_node(path, object, depth);
    if (type == "array") {
      node.kind = NodeKind::array;
      const json::value* items = object.if_contains("items");
      node.children = {items ? compile_at(path + "/items", *items, depth + 1) : any_value()};
      node.min_items = count_keyword(path, object, "minItems").value_or(0);
      node.max_items = count_keyword(path, object, "maxItems").value_or(UINT32_MAX);
      if (node.min_items > node.max_items) fail(path, "minItems is greater than maxItems");
      if (const json::value* unique = object.if_contains("uniqueItems"); unique && !(unique->is_bool() && !unique->as_bool()))
        fail(path + "/uniqueItems", "uniqueItems: true is not supported");
      return node;
    }
    if (type == "string") {
      node.kind = NodeKind::string;
      node.min_length = count_keyword(path, object, "minLength").value_or(0);
      node.max_length = count_keyword(path, object, "maxLength").value_or(UINT32_MAX);
      if (node.min_length > node.max_length) fail(path, "minLength is greater than maxLength");
      return node;
    }
    if (type == "number" || type == "integer") return number_node(path, type, object);
    node.kind = NodeKind::literals;
    if (type == "boolean") {
      node.literals.insert("true", 0);
      node.literals.insert("false", 1);
    } else {
      node.literals.insert("null", 0);
    }
    return node;
  }

  GrammarNode number_node(const std::string& path, const std::string& type, const json::object& object) {
    GrammarNode node;
    node.kind = NodeKind::number;
    node.integer = type == "integer";
    auto bound = [&](const char* key) -> std::optional<double> {
      const json::value* value = object.if_contains(key);
      if (value == nullptr) return std::nullopt;
      if (value->is_int64()) return static_cast<double>(value->as_int64());
      if (value->is_uint64()) return static_cast<double>(value->as_uint64());
      if (value->is_double()) return value->as_double();
      fail(path + "/" + key, "must be a number (draft-4 boolean exclusive bounds are not supported)");
    };
    std::optional<double> low = bound("minimum");
    std::optional<double> high = bound("maximum");
    if (low) node.bound_low = *low;
    if (high) node.bound_high = *high;
    if (auto exclusive = bound("exclusiveMinimum")) {
      low = std::max(low.value_or(-INFINITY), std::floor(*exclusive) + 1.0);
      if (*exclusive >= node.bound_low) node.bound_low = *exclusive, node.low_exclusive = true;
    }
    if (auto exclusive = bound("exclusiveMaximum")) {
      high = std::min(high.value_or(INFINITY), std::ceil(*exclusive) - 1.0);
      if (*exclusive <= node.bound_high) node.bound_high = *exclusive, node.high_exclusive = true;
    }
    if (!low && !high) return node;
    // Bounds hold on the integer part (a "number" takes a fraction only when
    // [n, n+1) lies within them); no exponents.
    constexpr double kLimit = 1e15;
    if (low) node.minimum = static_cast<int64_t>(std::ceil(std::max(*low, -kLimit)));
    if (high) node.maximum = static_cast<int64_t>(std::floor(std::min(*high, kLimit)));
    if (node.minimum && node.maximum && *node.minimum > *node.maximum)
      fail(path, "no integer lies within the bounds (a bounded number needs one)");
    return node;
  }

  GrammarNode object_node(const std::string& path, const json::object& object, int depth) {
    GrammarNode node;
    node.kind = NodeKind::object;
    const json::value* properties = object.if_contains("properties");
    if (properties && !properties->is_object()) fail(path + "/properties", "must be an object");
    std::set<std::string> required;
    if (const json::value* names = object.if_contains("required")) {
      if (!names->is_array()) fail(path + "/required", "must be an array of names");
      for (const json::value& name : names->as_array()) {
        if (!name.is_string()) fail(path + "/required", "must be an array of names");
        required.emplace(name.as_string());
      }
    }
    bool additional = true;
    const json::value* extra_schema = nullptr;  // additionalProperties as a schema
    if (const json::value* extra = object.if_contains("additionalProperties")) {
      if (extra->is_bool()) additional = extra->as_bool();
      else if (extra->is_object()) extra_schema = extra;
      else fail(path + "/additionalProperties", "must be a boolean or a schema");
    }
    const bool has_properties = properties && !properties->as_object().empty();
    if (!has_properties && additional) {
      // A map: any keys, each value of additionalProperties' schema.
      if (!required.empty()) fail(path + "/required", "names properties the schema does not define");
      node.free_form = true;
      node.free_value = extra_schema ? compile_at(path + "/additionalProperties", *extra_schema, depth + 1) : any_value();
      node.free_key = add_string();
      return node;
    }
    if (has_properties) {
      for (const auto& entry : properties->as_object()) {
        const std::string name(entry.key());
        ObjectProperty property;
        property.name = name;
        property.required = required.count(name) > 0;
        property.value = compile_at(path + "/properties/" + pointer_token(name), entry.value(), depth + 1);
        node.keys.insert(json::serialize(json::value(name)), static_cast<int32_t>(node.properties.size()));
        node.properties.push_back(std::move(property));
        required.erase(name);
      }
    }
    if (!required.empty())
      fail(path + "/required", "names '" + *required.begin() + "', which is not in properties");
    return node;
  }

  uint32_t add_string() {
    GrammarNode node;
    node.kind = NodeKind::string;
    return grammar_.add(std::move(node));
  }

  // An anyOf whose alternatives lead back to it before any byte is read
  // would expand forever: refuse it.
  void check_any_of_cycles() const {
    std::vector<int> state(grammar_.nodes.size(), 0);
    std::function<void(uint32_t)> visit = [&](uint32_t index) {
      if (state[index] == 2) return;
      if (state[index] == 1) fail(grammar_.nodes[index].path, "refers to itself through anyOf/$ref alone");
      state[index] = 1;
      const GrammarNode& node = grammar_.nodes[index];
      if (node.kind == NodeKind::any_of)
        for (uint32_t child : node.children) visit(child);
      state[index] = 2;
    };
    for (uint32_t i = 0; i < grammar_.nodes.size(); ++i) visit(i);
  }

  Grammar& grammar_;
  const json::value& document_;
  std::string where_;
  std::map<std::string, uint32_t> by_path_;
  std::optional<uint32_t> any_value_;
};

}  // namespace

SchemaError::SchemaError(const std::string& message) : RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, message) {}

Grammar compile_json_schema(const json::value& schema, const GrammarLimits& limits) {
  Grammar grammar;
  grammar.limits = limits;
  grammar.root = add_json_schema(grammar, schema, "");
  return grammar;
}

uint32_t add_json_schema(Grammar& grammar, const json::value& schema, const std::string& where) {
  return Compiler(grammar, schema, where).compile_root();
}

}  // namespace citadel::runtime::structured
