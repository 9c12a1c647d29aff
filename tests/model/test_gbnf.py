"""The action schema as GBNF: checked by xgrammar, an independent implementation of the grammar
format (its EBNF is llama.cpp's GBNF), against replies the schema takes and ones it refuses; the
real llama.cpp parser and sampler take it in tests/model/test_llama_cpp_server.py."""

from __future__ import annotations

import json

import pytest

from termagent.model.gbnf import UnsupportedSchema, _whole_numbers_up_to, schema_to_gbnf
from termagent.model.schema import action_schema, validate_action

xgrammar = pytest.importorskip("xgrammar")


@pytest.fixture(scope="module")
def accepts():
    compiled = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo([])).compile_grammar(
        xgrammar.Grammar.from_ebnf(schema_to_gbnf(action_schema()))
    )

    def check(text: str) -> bool:
        matcher = xgrammar.GrammarMatcher(compiled, terminate_without_stop_token=True)
        return matcher.accept_string(text) and matcher.is_terminated()

    return check


def _action(**changes) -> dict:
    return {"analysis": "a", "plan": "p", "commands": [{"keystrokes": "ls\n", "duration": 0.1}]} | changes


TAKEN = [
    _action(),
    _action(commands=[]),
    _action(task_complete=True),
    _action(commands=[{"keystrokes": "C-c"}, {"keystrokes": 'echo "hi" \\ \u00e9\t\n', "duration": 60}]),
    _action(commands=[{"keystrokes": "x", "duration": d} for d in (0, 0.5, 9, 10, 59.999, 60.0, 12)]),
    _action(analysis='quote " backslash \\ control \u0001 unicode \u2603'),
]
REFUSED = [
    _action(commands=[{"keystrokes": "x", "duration": 61}]),
    _action(commands=[{"keystrokes": "x", "duration": 60.5}]),
    _action(commands=[{"keystrokes": "x", "duration": -1}]),
    _action(commands=[{"keystrokes": "x", "duration": "1"}]),
    _action(commands=[{"duration": 1}]),
    _action(commands=[{"keystrokes": "x", "extra": 1}]),
    _action(task_complete="yes"),
    _action(extra=1),
    {"analysis": "a", "commands": []},
    {"plan": "p", "analysis": "a", "commands": []},  # the grammar keeps the declared order
]


@pytest.mark.parametrize("action", TAKEN)
@pytest.mark.parametrize("indent", [None, 2])
def test_actions_the_schema_takes_match_the_grammar(accepts, action: dict, indent: int | None) -> None:
    assert validate_action(action) == []
    assert accepts(json.dumps(action, indent=indent))
    assert accepts(json.dumps(action, indent=indent, ensure_ascii=False))


@pytest.mark.parametrize("action", REFUSED)
def test_replies_the_grammar_refuses(accepts, action: dict) -> None:
    assert not accepts(json.dumps(action))


def test_text_that_is_not_one_action_is_refused(accepts) -> None:
    text = json.dumps(_action())
    for bad in (text + "{", text[:-1], "```json\n" + text, text.replace('"a"', "'a'"), '{"analysis": "a\nb"}'):
        assert not accepts(bad)


def test_whole_numbers_up_to_a_bound() -> None:
    xgrammar_rule = "root ::= " + " | ".join(f"( {alternative} )" for alternative in _whole_numbers_up_to(123))
    compiled = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo([])).compile_grammar(
        xgrammar.Grammar.from_ebnf(xgrammar_rule)
    )

    def takes(text: str) -> bool:
        matcher = xgrammar.GrammarMatcher(compiled, terminate_without_stop_token=True)
        return matcher.accept_string(text) and matcher.is_terminated()

    assert [n for n in range(1000) if takes(str(n))] == list(range(124))
    assert not takes("007") and not takes("01")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer"},
        {"type": "string", "pattern": "a+"},
        {"type": "number", "minimum": 1, "maximum": 5},
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
    ],
)
def test_what_it_cannot_express_is_refused(schema: dict) -> None:
    with pytest.raises(UnsupportedSchema):
        schema_to_gbnf(schema)
