"""The lenient parser: real-looking replies, each repair, and fuzzing (it must never raise)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from termagent.model.action import Action, Command
from termagent.model.parse import parse_reply, repair_json
from termagent.model.schema import validate_action

GOOD = {
    "analysis": "The shell is at /app and empty.",
    "plan": "List the files, then build.",
    "commands": [{"keystrokes": "ls -la\n", "duration": 0.1}, {"keystrokes": "make\n", "duration": 30}],
    "task_complete": False,
}
GOOD_ACTION = Action(
    analysis=GOOD["analysis"],
    plan=GOOD["plan"],
    commands=(Command("ls -la\n", 0.1), Command("make\n", 30.0)),
    task_complete=False,
)
PRETTY = json.dumps(GOOD, indent=2)


@pytest.mark.parametrize(
    "reply",
    [
        PRETTY,
        f"<think>\nThe user wants a build.\n</think>\n{PRETTY}",
        f"<|channel>thought\nthinking {{ here }}<channel|>{PRETTY}",
        f"Here is my answer:\n```json\n{PRETTY}\n```\nLet me know.",
        f"```\n{PRETTY}\n```",
        f"Sure. {json.dumps(GOOD)} That should work.",
        f'Notes: use {{braces}} and "quotes carefully. {json.dumps(GOOD)}',
    ],
    ids=["pretty", "think", "gemma-channel", "fenced", "bare-fence", "inline", "prose-braces"],
)
def test_well_formed_replies_in_their_usual_wrappings(reply: str) -> None:
    result = parse_reply(reply)
    assert result.action == GOOD_ACTION
    assert result.errors == []
    assert result.raw == reply


def test_trailing_commas_are_removed() -> None:
    reply = PRETTY.replace('"duration": 30\n', '"duration": 30,\n').replace("\n  ]", ",\n  ]")
    result = parse_reply(reply)
    assert result.action == GOOD_ACTION
    assert "removed trailing commas" in result.warnings


def test_raw_newlines_inside_strings_are_escaped() -> None:
    reply = '{"analysis": "two\nlines", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]}'
    result = parse_reply(reply)
    assert result.action is not None
    assert result.action.analysis == "two\nlines"
    assert result.action.commands == (Command("ls\n", 0.1),)


def test_missing_closing_brackets_are_added() -> None:
    result = parse_reply('{"analysis": "a", "plan": "b", "commands": [{"keystrokes": "pwd\\n"}')
    assert result.action == Action("a", "b", (Command("pwd\n", 1.0),))
    assert "the reply was cut off; closed what was open" in result.warnings


@pytest.mark.parametrize(
    "cut",
    ['"plan": "b", "commands": [{"keystrokes": "ls\\n", "duration": 0.', '"plan": "b", "commands": [{"keystro'],
)
def test_a_reply_cut_inside_a_command_keeps_the_complete_ones(cut: str) -> None:
    reply = '{"analysis": "a", "plan": "b", "commands": [{"keystrokes": "cd /app\\n"}, ' + cut.split("[", 1)[1]
    result = parse_reply(reply)
    assert result.action is not None
    assert result.action.commands[0] == Command("cd /app\n", 1.0)


def test_a_command_cut_inside_its_keystrokes_is_dropped_not_half_typed() -> None:
    reply = '{"analysis": "a", "plan": "b", "commands": [{"keystrokes": "ls\\n"}, {"keystrokes": "cat > f <<EOF\\nli'
    result = parse_reply(reply)
    assert result.action == Action("a", "b", (Command("ls\n", 1.0),))
    assert "dropped a command cut off inside one of its strings" in result.warnings


def test_a_reply_cut_inside_the_analysis_keeps_what_was_written() -> None:
    result = parse_reply('{"plan": "b", "commands": [], "analysis": "the build fai')
    assert result.action == Action("the build fai", "b", ())


def test_a_reply_cut_before_commands_is_an_error_not_a_guess() -> None:
    result = parse_reply('{"analysis": "a", "plan": "b", "comm')
    assert result.action is None
    assert result.errors == ["$.commands: missing; give the keystrokes to send, or [] to wait"]


def test_duration_is_clamped_with_a_path_style_warning() -> None:
    reply = json.dumps(
        {**GOOD, "commands": [{"keystrokes": "sleep 100\n", "duration": 120}, {"keystrokes": "x", "duration": -1}]}
    )
    result = parse_reply(reply)
    assert result.action is not None
    assert [c.duration for c in result.action.commands] == [60.0, 0.0]
    assert "$.commands[0].duration: 120 is greater than the maximum of 60 (repaired)" in result.warnings
    assert "$.commands[1].duration: -1 is less than the minimum of 0 (repaired)" in result.warnings


def test_defaults_of_the_protocol_apply() -> None:
    result = parse_reply('{"analysis": "a", "plan": "b", "commands": [{"keystrokes": "ls\\n"}]}')
    assert result.action == Action("a", "b", (Command("ls\n", 1.0),), task_complete=False)
    assert result.warnings == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("", "the reply is empty"),
        ("<think>I will answer later", "the reply is empty after removing thinking"),
        ("I cannot help with that.", "no JSON object found in the reply"),
        ('{"answer": 42}', "the JSON in the reply is not an action object (expected keys analysis, plan, commands)"),
        (
            '{"analysis": "a", "plan": "b", "commands": [{"duration": 1}]}',
            "$.commands[0].keystrokes: missing or not a string",
        ),
        (
            '{"analysis": "a", "plan": "b", "commands": [], "task_complete": "maybe"}',
            '$.task_complete: "maybe" is not a boolean',
        ),
    ],
)
def test_unusable_replies_say_why(reply: str, error: str) -> None:
    result = parse_reply(reply)
    assert result.action is None
    assert result.errors == [error]


def test_repair_json_closes_a_string_cut_in_the_middle() -> None:
    repaired, _ = repair_json('{"analysis": "half a sent')
    assert json.loads(repaired) == {"analysis": "half a sent"}


def _assert_contract(reply: str) -> None:
    result = parse_reply(reply)
    assert result.raw == reply
    assert not any(e.startswith("internal parser error") for e in result.errors), result.errors
    assert (result.action is None) == bool(result.errors)
    if result.action is not None:
        assert validate_action(result.action.to_dict()) == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_random_text(reply: str) -> None:
    _assert_contract(reply)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]",:\\ \n0123456789.-abcnulltruefalse', max_size=200))
def test_fuzz_json_alphabet_soup(reply: str) -> None:
    _assert_contract(reply)


_json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "analysis": _json_values,
            "plan": _json_values,
            "commands": st.lists(
                st.fixed_dictionaries({}, optional={"keystrokes": _json_values, "duration": _json_values})
                | _json_values,
                max_size=3,
            ),
            "task_complete": _json_values,
        },
    ),
    st.integers(min_value=0, max_value=400),
    st.sampled_from(["", "<think>", "```json\n", "Answer: "]),
)
def test_fuzz_mutated_actions(data: dict, cut: int, prefix: str) -> None:
    text = json.dumps(data, indent=2)
    _assert_contract(prefix + text)
    _assert_contract(prefix + text[:cut])
    _assert_contract(text[:cut] + text[cut + 1 :])
