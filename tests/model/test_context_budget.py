"""Compaction keeps the first and the latest turns, reports itself, and never overshoots the limit."""

from __future__ import annotations

import json

import pytest

from termagent.errors import TermagentError
from termagent.model.context_budget import ContextBudget, PrefixTokenCounter
from termagent.model.conversation import Conversation

REPLY = json.dumps({"analysis": "a" * 40, "plan": "p", "commands": [{"keystrokes": "ls\n"}]})


def _count(messages) -> int:
    return sum(len(m["content"]) for m in messages) // 4


def _session(steps: int) -> Conversation:
    conversation = Conversation("task", "screen", instructions="I" * 200)
    for step in range(steps):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"output {step} " + "x" * 300)
    return conversation


def test_no_compaction_while_it_fits() -> None:
    conversation = _session(3)
    fitted = ContextBudget(_count, 10_000, reply_tokens=100).fit(conversation)
    assert fitted.compaction is None
    assert fitted.messages == conversation.messages


def test_unknown_context_length_never_compacts() -> None:
    assert ContextBudget(_count, None, reply_tokens=100).fit(_session(30)).compaction is None


def test_compaction_keeps_first_and_recent_turns_and_fits() -> None:
    conversation = _session(30)
    before = conversation.messages
    budget = ContextBudget(_count, 2000, reply_tokens=300)
    fitted = budget.fit(conversation)
    compaction = fitted.compaction
    assert compaction is not None
    assert _count(fitted.messages) == fitted.prompt_tokens == compaction.tokens_after <= budget.prompt_limit
    assert compaction.tokens_before == _count(before) > budget.prompt_limit
    assert fitted.messages[-4:] == before[-4:]
    assert fitted.messages[0]["content"].startswith(before[0]["content"])
    assert f"the {compaction.dropped_steps} oldest steps" in fitted.messages[0]["content"]
    assert len(fitted.messages) == len(before) - 2 * compaction.dropped_steps
    assert [m["role"] for m in fitted.messages[:3]] == ["user", "assistant", "user"]
    assert "removed the" in compaction.describe()
    # The conversation itself was compacted, so the next steps append to the shorter history.
    assert conversation.messages == fitted.messages


def test_repeated_compaction_counts_all_dropped_steps() -> None:
    conversation = _session(30)
    budget = ContextBudget(_count, 2000, reply_tokens=300)
    first = budget.fit(conversation).compaction
    for step in range(30):
        conversation.add_reply(REPLY)
        conversation.add_observation(f"later {step} " + "y" * 300)
    second = budget.fit(conversation).compaction
    assert first and second
    assert conversation.dropped_steps == first.dropped_steps + second.dropped_steps
    assert f"the {conversation.dropped_steps} oldest steps" in conversation.messages[0]["content"]


def test_a_prompt_that_cannot_fit_is_an_error() -> None:
    conversation = _session(2)
    conversation.add_reply(REPLY)
    conversation.add_observation("z" * 8000)
    with pytest.raises(TermagentError, match="even with all earlier steps removed"):
        ContextBudget(_count, 1500, reply_tokens=300).fit(conversation)


def test_prefix_counter_only_tokenizes_new_text() -> None:
    seen: list[str] = []

    def count(text: str) -> int:
        seen.append(text)
        return len(text.split())

    counter = PrefixTokenCounter(count)
    assert counter("one two") == 2
    assert counter("one two three four") == 4
    assert seen == ["one two", " three four"]
    assert counter("other text") == 2
    assert seen[-1] == "other text"
