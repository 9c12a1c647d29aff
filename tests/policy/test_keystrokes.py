from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from termagent.policy.keystrokes import escape_for_display, key_name, next_state, unescape_display, unusual_characters
from termagent.policy.state import TerminalState


def test_key_names_versus_text() -> None:
    for key in ["C-c", "C-d", "Escape", "Enter", "Up", "PageUp", "NPage", "F12", "M-x", "BSpace", "Tab"]:
        assert key_name(key) == key
    for text in ["echo C-c\n", "ls", "C-cc", "up", ""]:
        assert key_name(text) is None


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


def test_pending_line_across_chunks() -> None:
    state = TerminalState()
    state = next_state("rm -rf ", state)
    assert state.pending_line == "rm -rf "
    state = next_state("/tmp/x", state)
    assert state.pending_line == "rm -rf /tmp/x"
    assert next_state("BSpace", state).pending_line == "rm -rf /tmp/"
    assert next_state("C-c", state).pending_line == ""
    assert next_state("\n", state).pending_line == ""
    assert next_state("Up", state).pending_line is None
    assert next_state("ls\necho ", TerminalState(pending_line=None)).pending_line == "echo "


def test_foreground_input_does_not_touch_the_prompt_line() -> None:
    state = TerminalState(foreground="vim", pending_line="")
    assert next_state(":q\n", state) == state
