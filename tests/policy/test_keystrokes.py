from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import termagent.sandbox.session as sandbox_session
from termagent.keys import keystrokes_to_bytes
from termagent.policy.decision import Decision
from termagent.policy.engine import Policy
from termagent.policy.keystrokes import (
    escape_for_display,
    key_press_name,
    next_state,
    read_input,
    unusual_characters,
)
from termagent.policy.state import TerminalState
from termagent.text_safety import unescape_display

# Key-name-like strings in every spelling tmux accepts, mixed with text and control bytes.
_MODIFIERS = st.lists(st.sampled_from(["C-", "c-", "M-", "m-", "S-", "s-", "^"]), max_size=3).map("".join)
_BASES = st.sampled_from(
    [
        "m",
        "M",
        "j",
        "J",
        "c",
        "d",
        "z",
        "o",
        "[",
        "\\",
        "?",
        "@",
        " ",
        "Enter",
        "enter",
        "ENTER",
        "KPEnter",
        "Tab",
        "Up",
        "up",
        "BSpace",
        "Escape",
        "F1",
        "f5",
        "Space",
        "PgUp",
        "x",
    ]
)
KEY_SPELLINGS = st.tuples(_MODIFIERS, _BASES).map("".join)
KEYSTROKES = st.one_of(
    KEY_SPELLINGS, st.text(), st.text(alphabet=st.sampled_from(list("ls -\r\n\x03\x04\x0f\x1b[A~\x7f;")))
)


def test_every_spelling_of_enter_submits(default_policy: Policy) -> None:
    state = TerminalState(pending_line="touch x")
    for spelling in [
        "Enter",
        "enter",
        "C-m",
        "c-m",
        "C-M",
        "^M",
        "^m",
        "C-j",
        "c-j",
        "^J",
        "KPEnter",
        "kpenter",
        "C-o",
    ]:
        verdict = default_policy.judge(spelling, state)
        assert verdict.decision is not Decision.ALLOW, spelling
        assert "touch x" in verdict.commands or verdict.rule == "construct:unknown_line", spelling


def test_signalling_keys_in_any_spelling_are_the_same_key() -> None:
    for spelling in ["C-c", "c-c", "^C", "^c", "\x03"]:
        assert key_press_name(keystrokes_to_bytes(spelling)) == "C-c"
    for spelling in ["C-d", "c-D", "^D", "\x04"]:
        assert key_press_name(keystrokes_to_bytes(spelling)) == "C-d"
    assert key_press_name(keystrokes_to_bytes("up")) == "Up"


def test_reading_at_the_prompt() -> None:
    reading = read_input("ls\x7f\x7fpwd\rrm -rf x\x03echo hi\n", "")
    assert reading.lines == ("pwd", "echo hi")
    assert [k.name for k in reading.keys] == ["BSpace", "BSpace", "C-c"]
    assert read_input("ls\x1b[A\n", "").lines == (None,)  # history recall: the line is unknown
    assert read_input("x\x0fy", "").lines == ("x",) and read_input("x\x0fy", "").typed is None


def test_unusual_characters_are_reported() -> None:
    whys = [u.why for u in unusual_characters("a\x1bb\tc\u200bd\u0430e\r\n")]
    assert len(whys) == 5
    assert whys[0] == "escape byte" and "Tab" in whys[1] and "ZERO WIDTH SPACE" in whys[2]
    assert "CYRILLIC" in whys[3] and "look-alike" in whys[3]
    assert unusual_characters("ls -la | grep 'x'\n") == []


def test_escaping_shows_what_is_hidden() -> None:
    assert escape_for_display("ls\x1b[A\u200b\n") == "ls\\x1b[A\\u200b\\n"


@given(st.text())
def test_escape_round_trips(text: str) -> None:
    shown = escape_for_display(text)
    assert shown.isascii() and shown.isprintable()
    assert unescape_display(shown) == text


@settings(max_examples=400)
@given(KEYSTROKES)
def test_the_policy_judges_the_bytes_the_sandbox_sends(default_policy: Policy, keystrokes: str) -> None:
    """The sandbox writes `keystrokes_to_bytes` as imported into termagent.sandbox.session; the
    verdict's reading walks every one of those bytes, in order."""
    sent = sandbox_session.keystrokes_to_bytes(keystrokes)
    verdict = default_policy.judge(keystrokes, TerminalState(pending_line="touch x"))
    assert verdict.sent == sent
    first_control = next((i for i, c in enumerate(sent) if c < " " or c == "\x7f"), None)
    if first_control is not None and sent[first_control] in "\r\n\x0f":
        assert verdict.decision is not Decision.ALLOW  # it submits `touch x...`


def test_pending_line_across_chunks() -> None:
    state = TerminalState()
    state = next_state("rm -rf ", state)
    assert state.pending_line == "rm -rf "
    state = next_state("/tmp/x", state)
    assert state.pending_line == "rm -rf /tmp/x"
    assert next_state("BSpace", state).pending_line == "rm -rf /tmp/"
    assert next_state("C-c", state).pending_line == ""
    assert next_state("^C", state).pending_line == ""
    assert next_state("\n", state).pending_line == ""
    assert next_state("Up", state).pending_line is None
    assert next_state("ls\necho ", TerminalState(pending_line=None)).pending_line == "echo "


def test_text_typed_to_a_program_leaves_the_pending_line_unknown() -> None:
    """The program may read it, or leave it to the shell's line editor once it ends."""
    state = TerminalState(foreground="sleep", pending_line="")
    assert next_state("rm -rf /tmp", state).pending_line is None
    assert next_state("C-c", state).pending_line == ""
