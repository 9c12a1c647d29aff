"""Keystrokes as the model writes them (docs/protocol.md) turned into the bytes a terminal sends.

A keystroke string that is, as a whole, a tmux key name (`C-c`, `Escape`, `M-x`, `F5`) means
that key; anything else is literal text, typed verbatim.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

_KEYS_FILE = Path(__file__).with_name("keys.yaml")
# C-<char> for the characters that have a control code besides letters.
_CONTROL_PUNCTUATION = {"@": 0, " ": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31, "?": 127}


@functools.cache
def named_keys() -> dict[str, str]:
    with _KEYS_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def key_bytes(name: str) -> str | None:
    """The characters the key `name` sends, or None when `name` is not a key name."""
    fixed = named_keys().get(name)
    if fixed is not None:
        return fixed
    if name.startswith(("M-", "m-")) and len(name) > 2:
        rest = key_bytes(name[2:]) if len(name) > 3 else name[2:]
        return None if rest is None else "\x1b" + rest
    if name.startswith(("C-M-", "c-m-")):
        control = key_bytes("C-" + name[4:])
        return None if control is None else "\x1b" + control
    if name.startswith(("C-", "c-")) and len(name) == 3:
        char = name[2]
        if char.isalpha():
            return chr(ord(char.lower()) - ord("a") + 1)
        if char in _CONTROL_PUNCTUATION:
            return chr(_CONTROL_PUNCTUATION[char])
    return None


def keystrokes_to_text(keystrokes: str) -> str:
    """What to write to the terminal for one command's `keystrokes`."""
    key = key_bytes(keystrokes)
    return keystrokes if key is None else key
