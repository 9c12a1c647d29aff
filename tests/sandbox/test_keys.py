import pytest

from termagent.keys import key_bytes, keystrokes_to_text


@pytest.mark.parametrize("name, expected", [
    ("C-c", "\x03"), ("C-d", "\x04"), ("C-z", "\x1a"), ("C-l", "\x0c"), ("Escape", "\x1b"),
    ("Enter", "\r"), ("Tab", "\t"), ("BSpace", "\x7f"), ("Up", "\x1b[A"), ("Down", "\x1b[B"),
    ("Left", "\x1b[D"), ("Right", "\x1b[C"), ("Home", "\x1b[H"), ("End", "\x1b[F"),
    ("PageUp", "\x1b[5~"), ("PPage", "\x1b[5~"), ("NPage", "\x1b[6~"), ("F1", "\x1bOP"),
    ("F12", "\x1b[24~"), ("M-x", "\x1bx"), ("M-Up", "\x1b\x1b[A"), ("C-M-x", "\x1b\x18"), ("C-[", "\x1b"),
])
def test_key_names_send_the_xterm_bytes(name, expected):
    assert key_bytes(name) == expected


@pytest.mark.parametrize("text", ["echo C-c\n", "ls\n", "C-cc", "Up\n", "", "F13", "C-"])
def test_anything_else_is_literal_text(text):
    assert key_bytes(text) is None
    assert keystrokes_to_text(text) == text
