"""The one key parser: tmux key names (in every spelling tmux accepts) -> the bytes an xterm
sends; anything else is literal text. The sandbox writes exactly this and the policy judges it."""

import pytest

import termagent.sandbox.session as sandbox_session
from termagent.keys import key_bytes, keystrokes_to_bytes


@pytest.mark.parametrize(
    "name, expected",
    [
        ("C-c", "\x03"),
        ("C-d", "\x04"),
        ("C-z", "\x1a"),
        ("C-l", "\x0c"),
        ("Escape", "\x1b"),
        ("Enter", "\r"),
        ("Tab", "\t"),
        ("BSpace", "\x7f"),
        ("Up", "\x1b[A"),
        ("Down", "\x1b[B"),
        ("Left", "\x1b[D"),
        ("Right", "\x1b[C"),
        ("Home", "\x1b[H"),
        ("End", "\x1b[F"),
        ("PageUp", "\x1b[5~"),
        ("PPage", "\x1b[5~"),
        ("NPage", "\x1b[6~"),
        ("F1", "\x1bOP"),
        ("F12", "\x1b[24~"),
        ("M-x", "\x1bx"),
        ("M-Up", "\x1b\x1b[A"),
        ("C-M-x", "\x1b\x18"),
        ("C-[", "\x1b"),
        # tmux reads modifiers and names in any case, and ^X as C-x
        ("c-m", "\r"),
        ("C-M", "\r"),
        ("^M", "\r"),
        ("^m", "\r"),
        ("enter", "\r"),
        ("ENTER", "\r"),
        ("kpenter", "\r"),
        ("c-j", "\n"),
        ("^J", "\n"),
        ("c-c", "\x03"),
        ("^C", "\x03"),
        ("m-X", "\x1bX"),
        ("S-Tab", "\x1b[Z"),
        ("C-Up", "\x1b[1;5A"),
        ("S-F5", "\x1b[15;2~"),
        ("C-Space", "\x00"),
        ("C-?", "\x7f"),
        ("pgup", "\x1b[5~"),
    ],
)
def test_key_names_send_the_xterm_bytes(name, expected):
    assert key_bytes(name) == expected
    assert keystrokes_to_bytes(name) == expected


@pytest.mark.parametrize("text", ["echo C-c\n", "ls\n", "C-cc", "Up\n", "", "F13", "C-", "M-", "^", "C-é-x", "X-c"])
def test_anything_else_is_literal_text(text):
    assert key_bytes(text) is None or len(text) == 1
    assert keystrokes_to_bytes(text) == text


def test_the_sandbox_writes_what_the_parser_returns():
    assert sandbox_session.keystrokes_to_bytes is keystrokes_to_bytes
