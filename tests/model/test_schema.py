"""The action schema file, path-style validation messages, and thinking removal."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from termagent.model.schema import action_schema, validate_action
from termagent.model.thinking import strip_thinking


def test_schema_is_draft_2020_12_with_the_protocol_defaults() -> None:
    schema = action_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["analysis", "plan", "commands"]
    command = schema["properties"]["commands"]["items"]
    assert command["required"] == ["keystrokes"]
    assert command["properties"]["duration"]["default"] == 1.0
    assert (command["properties"]["duration"]["minimum"], command["properties"]["duration"]["maximum"]) == (0, 60)
    assert schema["properties"]["task_complete"]["default"] is False


def test_errors_are_path_and_message_in_document_order() -> None:
    data = {"plan": 3, "commands": [{"keystrokes": "ls\n", "duration": -1}, {"duration": 2}], "extra": 1}
    assert validate_action(data) == [
        "$: 'analysis' is a required property",
        "$: Additional properties are not allowed ('extra' was unexpected)",
        "$.commands[0].duration: -1 is less than the minimum of 0",
        "$.commands[1]: 'keystrokes' is a required property",
        "$.plan: 3 is not of type 'string'",
    ]
    assert validate_action({"analysis": "", "plan": "", "commands": []}) == []


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<think>plan it</think>\n{}", ("{}", True)),
        ("<|channel>thought\nplan it<channel|>{}", ("{}", True)),
        ("the server kept the opener</think>{}", ("{}", True)),
        ("<think>cut off while thinking", ("", True)),
        ('<think>never closed {"a": 1}', ('never closed {"a": 1}', True)),
        ("no thinking here", ("no thinking here", False)),
    ],
)
def test_strip_thinking(reply: str, expected: tuple[str, bool]) -> None:
    assert strip_thinking(reply) == expected
