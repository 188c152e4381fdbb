// Compiles a JSON Schema (the subset that agent tools and structured-output
// clients send) into a Grammar for constrained decoding. Supported:
//   type (one name or a list), properties, required, additionalProperties
//   (false; true, a schema or absent generate only the named properties), enum, const,
//   anyOf, oneOf (as anyOf: alternatives should be disjoint), allOf with one
//   entry, $ref to "#", "#/$defs/..", "#/definitions/.." or any JSON pointer
//   into the document (recursion allowed), items, minItems, maxItems,
//   minLength, maxLength, minimum / maximum / exclusiveMinimum /
//   exclusiveMaximum (on the integer part: a bounded "number" takes a
//   fraction only when [n, n+1) lies within the bounds, and no exponent),
//   additionalProperties as a schema (the values of a map without named
//   properties; beside named ones it is not generated), and the annotations title, description, default,
//   examples, format, $comment, $schema, $id, deprecated, readOnly, writeOnly.
// Anything else (pattern, multipleOf, patternProperties, not, if/then/else,
// uniqueItems: true, ...) is refused with SchemaError naming the keyword's
// path ("#/properties/when/pattern"). Objects are generated with their
// properties in schema order, optional ones may be left out.
// Called by request_grammar (structured_request.h) and the tool-call
// grammar builder; thread-safe (no shared state).
#pragma once

#include "runtime/core/error.h"
#include "runtime/structured/grammar.h"

#include <boost/json/value.hpp>

#include <string>

namespace citadel::runtime::structured {

// A schema the compiler cannot enforce; the message names the path.
class SchemaError : public RuntimeError {
 public:
  explicit SchemaError(const std::string& message);
};

// The schema's grammar, root = the schema.
Grammar compile_json_schema(const boost::json::value& schema, const GrammarLimits& limits = {});

// Adds the schema's nodes to `grammar` and returns the root node's index;
// `where` prefixes paths in messages (e.g. "tools[0].function.parameters").
uint32_t add_json_schema(Grammar& grammar, const boost::json::value& schema, const std::string& where);

}  // namespace citadel::runtime::structured
