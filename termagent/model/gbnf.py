"""The action schema as a GBNF grammar (llama.cpp grammars/README.md), for servers that constrain
output by a `grammar` but take no JSON schema. Written for the subset of JSON Schema that
termagent's schemas use, and refusing anything else: objects with `properties` (required ones
first, then optional ones, in the order they are declared; nothing else allowed), strings,
booleans, arrays of one item type, and numbers from 0 to an integer maximum. Only plain GBNF
(rules, literals, character classes, `* + ?`, groups), which every llama.cpp since GBNF takes;
rule names are letters, digits and dashes."""

from __future__ import annotations

import json
from typing import Any

_SHARED = {
    "ws": "[ \\t\\n]*",
    "string": '"\\"" ( [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" ( ["\\\\/bfnrt] | "u" hex hex hex hex ) )* "\\""',
    "hex": "[0-9a-fA-F]",
    "boolean": '"true" | "false"',
}
_KNOWN_KEYS = {"type", "description", "title", "default", "$schema", "$id"}


class UnsupportedSchema(ValueError):
    """A schema construct this converter does not handle."""


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    rules: dict[str, str] = {}
    rules["root"] = f"ws {_value(schema, 'root-value', rules)} ws"
    used = dict(_SHARED)
    return "\n".join(f"{name} ::= {body}" for name, body in (rules | used).items()) + "\n"


def _value(schema: dict[str, Any], name: str, rules: dict[str, str]) -> str:
    """The GBNF expression for `schema`; a compound one becomes rule `name`."""
    kind = schema.get("type")
    if kind == "string":
        _only(schema, set())
        return "string"
    if kind == "boolean":
        _only(schema, set())
        return "boolean"
    if kind == "number":
        _only(schema, {"minimum", "maximum"})
        rules[name] = _number(schema)
        return name
    if kind == "array":
        _only(schema, {"items"})
        item = _value(schema["items"], f"{name}-item", rules)
        rules[name] = f'"[" ws ( {item} ( ws "," ws {item} )* )? ws "]"'
        return name
    if kind == "object":
        _only(schema, {"properties", "required", "additionalProperties"})
        rules[name] = _object(schema, name, rules)
        return name
    raise UnsupportedSchema(f"no GBNF for a schema of type {kind!r}")


def _object(schema: dict[str, Any], name: str, rules: dict[str, str]) -> str:
    if schema.get("additionalProperties", True) is not False:
        raise UnsupportedSchema("an object must say additionalProperties: false")
    properties: dict[str, Any] = schema["properties"]
    required = [key for key in properties if key in schema.get("required", [])]
    optional = [key for key in properties if key not in required]
    if not required:
        raise UnsupportedSchema("an object needs a required property to come first")
    members = []
    for key in required + optional:
        value = _value(properties[key], f"{name}-{_rule_name(key)}", rules)
        member = f'{_literal(json.dumps(key))} ws ":" ws {value}'
        if key == required[0]:
            members.append(member)
        elif key in required:
            members.append(f'ws "," ws {member}')
        else:
            members.append(f'( ws "," ws {member} )?')
    return f'"{{" ws {" ".join(members)} ws "}}"'


def _number(schema: dict[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low != 0 or not isinstance(high, int) or isinstance(high, bool) or high < 1:
        raise UnsupportedSchema("a number must run from minimum 0 to an integer maximum")
    below = " | ".join(_whole_numbers_up_to(high - 1))
    return f'( {below} ) ( "." [0-9]+ )? | "{high}" ( "." "0"+ )?'


def _whole_numbers_up_to(high: int) -> list[str]:
    """Alternatives matching the whole numbers 0..high written without leading zeros."""
    digits = str(high)
    alternatives = ["[0-9]"] if len(digits) > 1 else [f"[0-{digits}]"]
    for length in range(2, len(digits)):
        alternatives.append("[1-9]" + " [0-9]" * (length - 1))
    if len(digits) > 1:
        for position, digit in enumerate(digits):
            smallest = 1 if position == 0 else 0
            if int(digit) > smallest:
                prefix = "".join(f'"{d}" ' for d in digits[:position])
                rest = " [0-9]" * (len(digits) - position - 1)
                alternatives.append(f"{prefix}[{smallest}-{int(digit) - 1}]{rest}")
        alternatives.append(" ".join(f'"{d}"' for d in digits))
    return alternatives


def _only(schema: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(schema) - _KNOWN_KEYS - allowed
    if unknown:
        raise UnsupportedSchema(f"no GBNF for the schema keyword(s) {sorted(unknown)}")


def _rule_name(key: str) -> str:
    name = "".join(char if char.isascii() and char.isalnum() else "-" for char in key)
    return name or "x"


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
