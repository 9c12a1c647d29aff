"""One description of each event for people: the headless text view and the TUI's step log
render the same segments, so they say the same words; each escapes what it shows."""

from __future__ import annotations

import io

import pytest

from termagent.agent.events import Event, EventType
from termagent.text_safety import is_safe
from termagent.tui.step_log import describe as step_log_line
from termagent.views.event_lines import TextLines
from termagent.views.event_text import describe

HOSTILE = "x\x1b]0;owned\x07\u202eevil\u200b\x9b31m"
KEYS = "echo hi\x1b[A\n"
STOPPED = {"limit": "disk", "allowed": 256 << 20, "used": 256 << 20}
# Events the loop emits (agent/loop.py, agent/runner.py), hostile text wherever the model, the
# sandbox or a file can put some.
SAMPLES = {
    EventType.RUN_STARTED: {"task": HOSTILE, "engine": "replay", "model": "m", "policy": "default", "note": HOSTILE},
    EventType.REPLY_REJECTED: {"errors": [HOSTILE, "second"]},
    EventType.CONTEXT_COMPACTED: {"note": HOSTILE},
    EventType.ACTION_PARSED: {"analysis": HOSTILE, "plan": HOSTILE, "commands": [], "task_complete": True},
    EventType.PARSE_WARNING: {"warning": HOSTILE},
    EventType.POLICY_DECIDED: {
        "keystrokes": KEYS,
        "decision": "deny",
        "rule": "r",
        "reason": HOSTILE,
        "commands": [],
        "foreground": None,
    },
    EventType.APPROVAL_ANSWERED: {
        "keystrokes": "k",
        "answer": "deny-with-message",
        "approver": "person",
        "message": HOSTILE,
        "edited": KEYS,
        "note": None,
    },
    EventType.COMMAND_SKIPPED: {"keystrokes": KEYS, "reason": HOSTILE},
    EventType.KEYSTROKES_SENT: {"keystrokes": KEYS, "duration": 1.0, "edited": True},
    EventType.OUTPUT_OBSERVED: {
        "keystrokes": KEYS,
        "finished": False,
        "exit_status": None,
        "foreground": HOSTILE,
        "elapsed": 1.5,
        "output": HOSTILE + "\nline two",
        "stopped": STOPPED,
    },
    EventType.INTERRUPTED: {"finished": True},
    EventType.COMPLETION_CLAIMED: {},
    EventType.COMPLETION_CONFIRMED: {},
    EventType.WORKSPACE_CHANGED: {"counts": {}, "summary": HOSTILE, "diff": "+" + HOSTILE},
    EventType.WORKSPACE_APPLIED: {"summary": HOSTILE, "conflicts": [HOSTILE]},
    EventType.WARNING: {"message": HOSTILE},
    EventType.ERROR: {"message": HOSTILE, "hint": HOSTILE},
    EventType.RUN_FINISHED: {
        "status": "completed",
        "steps": 2,
        "elapsed": 3.5,
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "message": HOSTILE,
    },
}
# Shown by views of their own (the streaming reply, the terminal, the approval dialog).
NOT_LINES = {
    EventType.STEP_STARTED,
    EventType.MODEL_TOKEN,
    EventType.MODEL_REPLIED,
    EventType.TERMINAL_OUTPUT,
    EventType.APPROVAL_ASKED,
}


def test_every_event_type_is_described_or_deliberately_left_to_another_view():
    assert set(SAMPLES) | NOT_LINES == set(EventType)
    assert all(describe(Event(kind, 1)) is None for kind in NOT_LINES)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_both_views_say_the_same_and_show_nothing_unsafe(kind):
    event = Event(kind, 3, SAMPLES[kind])
    out = io.StringIO()
    TextLines(out, show_output=False)(event)
    text_line = out.getvalue()
    tui_line = step_log_line(event).plain
    assert text_line.startswith("[step 3] ")
    # The same words; the headless view indents continuation lines, the TUI leaves out the diff
    # (its changes dialog shows it) and shows escapes as escapes, just as the text view.
    shown = text_line.removeprefix("[step 3] ").rstrip("\n").replace("\n  ", "\n")
    if kind is EventType.WORKSPACE_CHANGED:
        shown = shown.rsplit("\n", 1)[0]
    assert shown == tui_line
    for view in (text_line, tui_line):
        assert all(is_safe(char) or char == "\n" for char in view), repr(view)


def test_raw_keystrokes_are_escaped_once_and_output_only_where_asked():
    event = Event(EventType.OUTPUT_OBSERVED, 1, SAMPLES[EventType.OUTPUT_OBSERVED])
    full, quiet = io.StringIO(), io.StringIO()
    TextLines(full)(event)
    TextLines(quiet, show_output=False)(event)
    assert "| line two" in full.getvalue() and "line two" not in quiet.getvalue()
    assert "line two" not in step_log_line(event).plain  # the terminal pane shows it
    sent = step_log_line(Event(EventType.KEYSTROKES_SENT, 1, SAMPLES[EventType.KEYSTROKES_SENT])).plain
    assert sent == "  sent (edited): echo hi\\x1b[A\\n"
    assert "stopped by the sandbox: its disk limit (256 MiB) was reached" in full.getvalue()


def test_policy_keystrokes_are_escaped_once_and_warnings_read_as_warnings():
    decided = step_log_line(Event(EventType.POLICY_DECIDED, 1, SAMPLES[EventType.POLICY_DECIDED])).plain
    assert decided.startswith("$ echo hi\\x1b[A\\n\n  policy: deny")
    answered = step_log_line(Event(EventType.APPROVAL_ANSWERED, 1, SAMPLES[EventType.APPROVAL_ANSWERED])).plain
    assert "edited: echo hi\\x1b[A\\n" in answered
    warned = step_log_line(Event(EventType.WARNING, 0, {"message": "constrained decoding is OFF"})).plain
    assert warned == "warning: constrained decoding is OFF"


@pytest.mark.parametrize(("estimated", "said"), [(True, "~1200+80 tokens (estimated)."), (False, " 1200+80 tokens.")])
def test_the_finished_line_says_when_its_token_figures_are_estimates(estimated: bool, said: str) -> None:
    data = {"status": "completed", "steps": 2, "elapsed": 3.5, "prompt_tokens": 1200, "completion_tokens": 80}
    description = describe(Event(EventType.RUN_FINISHED, 2, data | {"message": "", "tokens_estimated": estimated}))
    assert description is not None
    assert said in "".join(segment.text for segment in description)


@pytest.mark.parametrize(("foreground", "shown"), [("vim", "still running: vim"), (None, "not finished")])
def test_a_command_not_finished_names_its_program_only_when_there_is_one(foreground, shown):
    data = {"finished": False, "exit_status": None, "foreground": foreground, "elapsed": 1.0, "output": ""}
    text = "".join(segment.text for segment in describe(Event(EventType.OUTPUT_OBSERVED, 1, data)))
    assert shown in text and "None" not in text
