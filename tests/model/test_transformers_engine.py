"""The transformers engine, for real, on a tiny random-weight Gemma 4 loaded like any user's model."""

from __future__ import annotations

import json

import pytest

from termagent.errors import TermagentError
from termagent.model.conversation import Conversation
from termagent.model.engines.base import DecodingSettings
from termagent.model.engines.grammar_processor import StringState
from termagent.model.engines.transformers_local import TransformersEngine
from termagent.model.parse import parse_reply
from termagent.model.schema import validate_action
from termagent.model.step import BadRepliesError, next_action

TASKS = [
    "Compile main.c and run it.",
    "Find the largest file under /var/log.",
    "Install the requests package and print its version.",
    "Count the lines of every Python file in /app.",
    "Fix the failing unit test in tests/test_math.py.",
    "Create a user named alice with a home directory.",
    "Start a web server on port 8080 that serves /app/site.",
    "Extract data.tar.gz and list what it contains.",
    "Write a bash script that prints the date every second.",
    "Rename every .jpeg file in /app/photos to .jpg.",
]


@pytest.fixture(scope="module")
def constrained(tiny_gemma_dir) -> TransformersEngine:
    return TransformersEngine(str(tiny_gemma_dir))


@pytest.fixture(scope="module")
def unconstrained(tiny_gemma_dir) -> TransformersEngine:
    return TransformersEngine(str(tiny_gemma_dir), settings=DecodingSettings(max_tokens=48, constrained=False))


def test_constrained_replies_all_validate_against_the_schema(constrained: TransformersEngine) -> None:
    for task in TASKS[:8]:
        completion = constrained.complete(Conversation(task, "root@box:/app# ").messages)
        assert completion.finish_reason == "stop", completion.text
        assert validate_action(json.loads(completion.text)) == [], completion.text
        assert completion.text.startswith('{\n  "analysis": ')  # pretty-printed like the training data


def test_unconstrained_garbage_is_handled_by_the_lenient_parser(unconstrained: TransformersEngine) -> None:
    for task in TASKS[:3]:
        completion = unconstrained.complete(Conversation(task, "root@box:/app# ").messages)
        assert completion.completion_tokens <= 48
        result = parse_reply(completion.text)
        assert result.raw == completion.text
        assert (result.action is None) == bool(result.errors)


def test_the_step_loop_corrects_and_then_gives_up_on_garbage(unconstrained: TransformersEngine) -> None:
    conversation = Conversation(TASKS[0], "root@box:/app# ")
    with pytest.raises(BadRepliesError, match="the model gave 2 unusable replies in a row") as caught:
        next_action(unconstrained, conversation, max_bad_replies=2)
    assert len(caught.value.attempts) == 2
    roles = [m["role"] for m in conversation.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert conversation.messages[2]["content"].startswith("Your previous reply could not be used:")


def test_the_step_loop_returns_an_action_from_the_constrained_model(constrained: TransformersEngine) -> None:
    conversation = Conversation(TASKS[1], "root@box:/app# ")
    outcome = next_action(constrained, conversation)
    assert len(outcome.attempts) == 1 and outcome.compactions == []
    assert conversation.messages[-1] == {"role": "assistant", "content": outcome.attempts[0].completion.text}


def test_streams_the_reply_and_counts_tokens_exactly(constrained: TransformersEngine, tiny_gemma_dir) -> None:
    from transformers import AutoTokenizer

    messages = Conversation(TASKS[2], "root@box:/app# ").messages
    pieces: list[str] = []
    completion = constrained.complete(messages, on_token=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == completion.text
    tokenizer = AutoTokenizer.from_pretrained(tiny_gemma_dir)
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    exact = len(tokenizer.encode(rendered, add_special_tokens=False))
    assert constrained.count_tokens(messages) == completion.prompt_tokens == exact


def test_context_length_comes_from_the_config_or_the_option(tiny_gemma_dir) -> None:
    assert TransformersEngine(str(tiny_gemma_dir), settings=DecodingSettings(constrained=False)).max_model_len == 8192
    engine = TransformersEngine(str(tiny_gemma_dir), settings=DecodingSettings(constrained=False), max_model_len=2048)
    assert engine.max_model_len == 2048


def test_a_missing_model_is_an_actionable_error(tmp_path) -> None:
    with pytest.raises(TermagentError, match="cannot load the model"):
        TransformersEngine(str(tmp_path / "no-such-model"))


@pytest.mark.parametrize("max_tokens", [64, 160])
def test_a_short_token_budget_still_ends_in_a_valid_action(tiny_gemma_dir, max_tokens: int) -> None:
    # The random model rambles inside strings; the last tokens of the budget must close the JSON.
    engine = TransformersEngine(str(tiny_gemma_dir), settings=DecodingSettings(max_tokens=max_tokens))
    for task in TASKS:
        completion = engine.complete(Conversation(task, "root@box:/app# ").messages)
        assert completion.completion_tokens <= max_tokens
        assert completion.finish_reason == "stop", completion.text
        assert validate_action(json.loads(completion.text)) == [], completion.text


def test_string_state_follows_quotes_and_escapes() -> None:
    state = StringState()
    state.feed(b'{"a": "x\\"')
    assert (state.in_string, state.escaped) == (True, False)
    state.feed(b"y\\")
    assert state.escaped
    state.feed(b'n", ')
    assert (state.in_string, state.escaped) == (False, False)
