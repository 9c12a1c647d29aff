"""Keystroke strings as the policy reads them: the bytes the one key parser (termagent.keys)
turns them into, walked the way bash's line editor takes them; unusual characters; the line
being built up across several chunks."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass

import yaml

from termagent.keys import KEYS_FILE, keystrokes_to_bytes
from termagent.policy.state import TerminalState
from termagent.text_safety import escape_for_display

# Bytes that end a line at a bash prompt: CR, LF, and C-o (operate-and-get-next accepts the line).
SUBMITTING = frozenset("\r\n\x0f")
# Bytes the terminal turns into a signal or an end of input (C-c, C-\\, C-z, C-d).
SIGNALLING = frozenset("\x03\x1c\x1a\x04")
_RUBOUT = frozenset("\x7f\x08")
_TEXT_RUN = re.compile(r"[^\x00-\x1f\x7f]+")
_PRINTABLE = re.compile(r"[ -~\n]*")
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1bO.", re.DOTALL)
# Bytes whose key name is fixed, before the computed C-<letter> names.
_CONTROL_NAMES = {
    "\t": "Tab",
    "\r": "Enter",
    "\x1b": "Escape",
    "\x7f": "BSpace",
    "\x00": "C-Space",
    "\x1c": "C-\\",
    "\x1d": "C-]",
    "\x1e": "C-^",
    "\x1f": "C-_",
}


@dataclass(frozen=True)
class KeyPress:
    """A control byte or escape sequence among the bytes sent, by its canonical key name."""

    name: str
    sent: str


@dataclass(frozen=True)
class Reading:
    """What the bytes do to a line editor (bash's readline) whose pending line is known or not."""

    lines: tuple[str | None, ...]  # each submitted line; None when the line is not known
    keys: tuple[KeyPress, ...]
    typed: str | None  # left pending after the last submit; None when not known
    text: str  # the printable characters among the bytes
    sent: str  # every byte read, in order: what was judged

    @property
    def signals(self) -> bool:
        return any(key.sent in SIGNALLING for key in self.keys)


@functools.cache
def _sequence_names() -> dict[str, str]:
    """Escape sequence -> the first name in keys.yaml that sends it."""
    names: dict[str, str] = {}
    with KEYS_FILE.open(encoding="utf-8") as handle:
        for name, sent in yaml.safe_load(handle).items():
            names.setdefault(sent, name)
    return names


def key_press_name(sent: str) -> str:
    """The canonical name of one key's bytes (`C-c`, `Up`, `M-x`): one name whatever the spelling."""
    if sent in _CONTROL_NAMES:
        return _CONTROL_NAMES[sent]
    if len(sent) == 1 and sent < " ":
        return "C-" + chr(ord(sent) + ord("a") - 1)
    named = _sequence_names().get(sent)
    if named is not None:
        return named
    if len(sent) > 1 and sent[0] == "\x1b" and _ESCAPE_SEQUENCE.fullmatch(sent) is None:
        return "M-" + key_press_name(sent[1:])
    return escape_for_display(sent)


def canonical_key_name(name: str) -> str:
    """A policy file's key name (`c-c`, `^C`, `enter`) as the judge names it."""
    return name if name == "default" else key_press_name(keystrokes_to_bytes(name))


def read_input(sent: str, pending: str | None) -> Reading:
    """Walk the bytes as readline would: text joins the line, CR/LF/C-o submit it, BSpace rubs
    out, C-c and C-u empty it; any other control byte or escape sequence is a key whose effect on
    the line (completion, history, cursor moves, macros) is not modelled, so the line becomes
    unknown."""
    lines: list[str | None] = []
    keys: list[KeyPress] = []
    text: list[str] = []
    pieces: list[str] = []
    line = pending
    index = 0
    while index < len(sent):
        run = _TEXT_RUN.match(sent, index)
        if run is not None:  # printable text, taken a run at a time
            chunk = run.group()
            line = None if line is None else line + chunk
            text.append(chunk)
            pieces.append(chunk)
            index = run.end()
            continue
        char = sent[index]
        end = index + 1
        if char == "\x1b" and index + 1 < len(sent):
            match = _ESCAPE_SEQUENCE.match(sent, index)
            end = match.end() if match else index + 2  # ESC + one character: a Meta key
        key = sent[index:end]
        pieces.append(key)
        index = end
        if char in SUBMITTING:
            lines.append(line)
            line = "" if char != "\x0f" else None  # C-o brings the next history line back
            if char == "\x0f":
                keys.append(KeyPress(key_press_name(key), key))
            continue
        if len(key) == 2 and key[1] in SUBMITTING:
            lines.append(None)  # ESC then Enter: readline may take them apart and submit
            line = None
        elif char in _RUBOUT and line:
            line = line[:-1]
        elif char in ("\x03", "\x15"):
            line = ""  # C-c and C-u discard the line; C-c also flushes typed-ahead input
        else:
            line = None
        keys.append(KeyPress(key_press_name(key), key))
    return Reading(tuple(lines), tuple(keys), line, "".join(text), "".join(pieces))


@dataclass(frozen=True)
class UnusualCharacter:
    index: int
    char: str
    why: str


def unusual_characters(text: str) -> list[UnusualCharacter]:
    """Characters a person cannot see or may misread: control bytes (newline aside), Tab (it
    completes at a prompt), and any non-ASCII character (invisible, or a look-alike)."""
    if _PRINTABLE.fullmatch(text):
        return []
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


def next_state(keystrokes: str, state: TerminalState) -> TerminalState:
    """The state after these keystrokes were sent, for the agent to keep when the sandbox cannot
    report it. Text typed to another program may be read by it, or left for the shell's line
    editor once it ends: the pending line is then unknown (Enter on it is asked about)."""
    reading = read_input(keystrokes_to_bytes(keystrokes), state.pending_line)
    if state.foreground is not None and (reading.text or reading.lines):
        return dataclasses.replace(state, pending_line=None)
    return dataclasses.replace(state, pending_line=reading.typed)
