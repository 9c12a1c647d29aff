"""The action JSON Schema (a data file in the package) and validation with path-style messages."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator


@cache
def action_schema() -> dict[str, Any]:
    text = resources.files("termagent.model").joinpath("action.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    schema = action_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_action(data: Any) -> list[str]:
    """Every violation as `$.path: message`, in document order; empty when valid."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{error.json_path}: {error.message}" for error in errors]
