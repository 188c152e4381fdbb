#!/usr/bin/env python3
"""Accept/reject vectors for the structured-output matcher, labelled by the
`jsonschema` package (an independent validator).

Writes tests/data/structured/vectors.json: a list of
  {"name", "schema", "cases": [{"text", "valid", "canonical"}]}
where `valid` is jsonschema's verdict (Draft 2020-12) and `canonical` says the
text is in the form the matcher generates (properties in schema order,
compact separators ", " / ": "), so a valid canonical text must be accepted.
tests/runtime/structured_vectors_test.cpp checks: the matcher accepts a text
only if jsonschema says it is valid, and accepts every valid canonical one.

Usage: python3 tools/make_structured_vectors.py [--out PATH]
"""
import argparse
import json
from pathlib import Path

import jsonschema

# Schemas as agent tools and structured-output clients send them.
SCHEMAS = {
    "weather_tool": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
        },
        "required": ["location"],
        "additionalProperties": False,
    },
    "pydantic_model": {
        "$defs": {
            "Address": {
                "properties": {"street": {"title": "Street", "type": "string"},
                               "zip": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}],
                                       "default": None, "title": "Zip"}},
                "required": ["street"], "title": "Address", "type": "object",
            }
        },
        "properties": {
            "name": {"title": "Name", "type": "string", "minLength": 1},
            "age": {"title": "Age", "type": "integer", "exclusiveMinimum": 0},
            "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array", "maxItems": 3},
            "address": {"$ref": "#/$defs/Address"},
        },
        "required": ["name", "age", "address"],
        "title": "Person", "type": "object",
    },
    "recursive_tree": {
        "$defs": {"node": {"type": "object",
                           "properties": {"label": {"type": "string"},
                                          "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                           "required": ["label"], "additionalProperties": False}},
        "$ref": "#/$defs/node",
    },
    "mixed_types": {
        "type": "object",
        "properties": {
            "value": {"type": ["number", "string", "null"]},
            "flag": {"type": "boolean"},
            "mode": {"const": "fast"},
            "scores": {"type": "array", "items": {"type": "number"}, "minItems": 1},
        },
        "required": ["value", "flag"],
        "additionalProperties": False,
    },
    "bounded_numbers_and_maps": {
        "type": "object",
        "properties": {
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "offset": {"type": "number", "exclusiveMinimum": -1, "exclusiveMaximum": 1},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["temperature"],
    },
}

INSTANCES = {
    "weather_tool": [
        {"location": "Paris, France"},
        {"location": "Oslo", "unit": "celsius", "days": 3},
        {"location": "Zürich", "days": 14},
        {"location": "Rome", "days": 15},
        {"location": "Rome", "days": 0},
        {"location": "Rome", "days": 2.5},
        {"location": "Rome", "unit": "kelvin"},
        {"unit": "celsius"},
        {"location": "Rome", "extra": True},
        {"location": 5},
        {"days": 3, "location": "Rome"},
        {},
        [],
        "Rome",
    ],
    "pydantic_model": [
        {"name": "Ada", "age": 36, "address": {"street": "1 Main St"}},
        {"name": "Ada", "age": 36, "tags": ["a", "b"], "address": {"street": "x", "zip": "12345"}},
        {"name": "Ada", "age": 36, "address": {"street": "x", "zip": None}},
        {"name": "", "age": 36, "address": {"street": "x"}},
        {"name": "Ada", "age": 0, "address": {"street": "x"}},
        {"name": "Ada", "age": 36, "tags": ["a", "b", "c", "d"], "address": {"street": "x"}},
        {"name": "Ada", "age": 36, "address": {"street": "x", "zip": "12345678901"}},
        {"name": "Ada", "age": 36},
        {"name": "Ada", "age": 36, "address": {"zip": "1"}},
    ],
    "recursive_tree": [
        {"label": "root"},
        {"label": "root", "children": [{"label": "a"}, {"label": "b", "children": [{"label": "c"}]}]},
        {"label": "root", "children": [{}]},
        {"label": "root", "children": [{"label": 1}]},
        {"children": []},
    ],
    "mixed_types": [
        {"value": 1.5, "flag": True},
        {"value": "x", "flag": False, "mode": "fast", "scores": [1, 2.5e-3]},
        {"value": None, "flag": True, "scores": [0]},
        {"value": [], "flag": True},
        {"value": 1, "flag": "yes"},
        {"value": 1, "flag": True, "mode": "slow"},
        {"value": 1, "flag": True, "scores": []},
    ],
    "bounded_numbers_and_maps": [
        {"temperature": 0.7},
        {"temperature": 2, "offset": 0, "counts": {"a": 1, "b c": -2}},
        {"temperature": 1.25, "offset": -0.5},
        {"temperature": 2.5},
        {"temperature": -0.1},
        {"temperature": 1, "offset": 1},
        {"temperature": 1, "counts": {"a": 1.5}},
        {"temperature": 1e-3},
    ],
}


def in_schema_order(schema, instance, root):
    """Whether every object in `instance` lists its keys in the schema's order."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            if part:
                target = target[part]
        return in_schema_order(target, instance, root)
    for option in schema.get("anyOf", []):
        if jsonschema.Draft202012Validator(dict(option, **({"$defs": root.get("$defs", {})}))).is_valid(instance):
            return in_schema_order(option, instance, root)
    if isinstance(instance, dict):
        order = list(schema.get("properties", {}))
        keys = list(instance)
        if any(key not in order for key in keys) or keys != sorted(keys, key=order.index):
            return False
        return all(in_schema_order(schema["properties"][key], value, root) for key, value in instance.items())
    if isinstance(instance, list) and "items" in schema:
        return all(in_schema_order(schema["items"], item, root) for item in instance)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/data/structured/vectors.json"))
    args = parser.parse_args()
    vectors = []
    for name, schema in SCHEMAS.items():
        validator = jsonschema.Draft202012Validator(schema)
        jsonschema.Draft202012Validator.check_schema(schema)
        cases = []
        for instance in INSTANCES[name]:
            valid = validator.is_valid(instance)
            canonical = json.dumps(instance, ensure_ascii=False)
            cases.append({"text": canonical, "valid": valid, "canonical": in_schema_order(schema, instance, schema)})
            # The same value pretty-printed, and in compact form.
            cases.append({"text": json.dumps(instance, ensure_ascii=False, indent=2), "valid": valid, "canonical": False})
            cases.append({"text": json.dumps(instance, separators=(",", ":")), "valid": valid, "canonical": False})
        vectors.append({"name": name, "schema": schema, "cases": cases})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {sum(len(v['cases']) for v in vectors)} cases")


if __name__ == "__main__":
    main()
