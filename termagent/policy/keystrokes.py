"""Keystroke strings: tmux key names versus literal text, unusual characters, display escaping,
and the line being built up at the prompt across several chunks."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from termagent.policy.state import TerminalState

# A whole keystroke string that is one of these is a key press (the protocol's rule).
_NAMED_KEYS = frozenset(
    "Enter Escape Tab BTab BSpace Space Up Down Left Right Home End PageUp PageDown PPage NPage "
    "IC DC Insert Delete KPEnter".split()
)
_KEY_PATTERN = re.compile(r"(?:[CMS]-)+(?:[A-Za-z0-9]|[\[\]\\^_@?/ ]|" + "|".join(_NAMED_KEYS) + r"|F\d{1,2})|F\d{1,2}")
SUBMIT_KEYS = frozenset({"Enter", "KPEnter", "C-m", "C-j"})
_LINE_CLEARING_KEYS = frozenset({"C-c", "C-u"})


def key_name(keystrokes: str) -> str | None:
    """The tmux key name when the whole string is one key, else None (literal text)."""
    if keystrokes in _NAMED_KEYS or _KEY_PATTERN.fullmatch(keystrokes):
        return keystrokes
    return None


@dataclass(frozen=True)
class UnusualCharacter:
    index: int
    char: str
    why: str


def unusual_characters(text: str) -> list[UnusualCharacter]:
    """Characters a person cannot see or may misread: control bytes (newline aside), Tab (it
    completes at a prompt), and any non-ASCII character (invisible, or a look-alike)."""
    found = []
    for index, char in enumerate(text):
        if char == "\n" or " " <= char <= "~":
            continue
        if char == "\x1b":
            why = "escape byte"
        elif char == "\t":
            why = "Tab (completion may change the line)"
        elif unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"):
            why = f"invisible or control character {_char_name(char)}"
        else:
            why = f"non-ASCII character {_char_name(char)} (may be a look-alike)"
        found.append(UnusualCharacter(index, char, why))
    return found


def _char_name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def escape_for_display(text: str) -> str:
    """Printable ASCII as is; everything else as a backslash escape, so nothing hides."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


_DISPLAY_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "e": "\x1b", "\\": "\\"}


def unescape_display(text: str) -> str:
    """The inverse of `escape_for_display`, for keystrokes a person types in an edit."""

    def one(match: re.Match[str]) -> str:
        code = match[1] or match[2] or match[3]
        if code:
            return chr(int(code, 16))
        return _SIMPLE_ESCAPES.get(match[4], "\\" + match[4])

    return _DISPLAY_ESCAPE.sub(one, text)


@dataclass(frozen=True)
class ShellInput:
    """What literal text does at a prompt: the lines Enter submits, and what stays typed."""

    submitted: str | None  # None: no Enter in this chunk
    typed: str  # left at the prompt after the last Enter


def split_at_prompt(keystrokes: str, state: TerminalState) -> ShellInput:
    pending = state.pending_line or ""
    key = key_name(keystrokes)
    if key in SUBMIT_KEYS:
        return ShellInput(submitted=pending + "\n", typed="")
    line = pending + keystrokes
    cut = line.rfind("\n")
    if cut < 0:
        return ShellInput(submitted=None, typed=line)
    return ShellInput(submitted=line[: cut + 1], typed=line[cut + 1 :])


def next_state(keystrokes: str, state: TerminalState) -> TerminalState:
    """The prompt's pending line after these keystrokes were sent; for the agent to keep when the
    sandbox cannot report it. Only meaningful at a prompt."""
    if not state.at_prompt:
        return state
    key = key_name(keystrokes)
    if key is not None:
        if key in _LINE_CLEARING_KEYS or key in SUBMIT_KEYS:
            return dataclasses.replace(state, pending_line="")
        if key == "BSpace":
            pending = state.pending_line
            return dataclasses.replace(state, pending_line=None if pending is None else pending[:-1])
        if key != "Space":
            # Cursor moves, history, completion: what Enter runs is no longer what we typed.
            return dataclasses.replace(state, pending_line=None)
        keystrokes = " "
    if state.pending_line is None and "\n" not in keystrokes:
        return state
    return dataclasses.replace(state, pending_line=split_at_prompt(keystrokes, state).typed)
