"""Keystrokes as the model writes them (PROTOCOL.md) turned into the bytes a terminal sends.

The one reading of a keystroke string: the sandbox sends what `keystrokes_to_bytes` returns and
the policy judges exactly that. A string that is, as a whole, a tmux key name means that key;
names are read the way tmux reads them (modifiers `C-` `M-` `S-` and `^X` in either case, key
names in any case), so `c-m`, `^M` and `enter` are all Enter. Anything else is literal text.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

KEYS_FILE = Path(__file__).with_name("keys.yaml")
# C-<char> for the characters that have a control code besides letters (as xterm sends them).
_CONTROL_PUNCTUATION = {
    "@": 0,
    " ": 0,
    "2": 0,
    "[": 27,
    "3": 27,
    "\\": 28,
    "4": 28,
    "]": 29,
    "5": 29,
    "^": 30,
    "6": 30,
    "_": 31,
    "-": 31,
    "7": 31,
    "/": 31,
    "?": 127,
    "8": 127,
}
# xterm's form for a cursor, editing or function key with Shift/Alt/Ctrl: ESC [ 1 ; m X or ESC [ n ; m ~
_MODIFIABLE = re.compile(r"\x1b(?:\[|O)(\d*)([A-Z~])")


@functools.cache
def named_keys() -> dict[str, str]:
    """Key names as tmux spells them, lowercased (tmux matches names case-insensitively)."""
    with KEYS_FILE.open(encoding="utf-8") as handle:
        return {name.lower(): sent for name, sent in yaml.safe_load(handle).items()}


def key_bytes(name: str) -> str | None:
    """The characters the key `name` sends, or None when `name` is not a key name."""
    ctrl = meta = shift = False
    rest = name
    if len(rest) >= 2 and rest[0] == "^":
        ctrl, rest = True, rest[1:]
    while len(rest) >= 3 and rest[1] == "-" and rest[0] in "CcMmSs":
        flag = rest[0].upper()
        ctrl, meta, shift = ctrl or flag == "C", meta or flag == "M", shift or flag == "S"
        rest = rest[2:]
    if len(rest) == 1:
        sent = _char_key(rest, ctrl, shift)
    else:
        sent = named_keys().get(rest.lower())
        if sent is not None and (ctrl or shift):
            sent = _modified_named_key(sent, ctrl, shift, meta)
            meta = False  # folded into xterm's modifier parameter
    if sent is None:
        return None
    return "\x1b" + sent if meta else sent


def _char_key(char: str, ctrl: bool, shift: bool) -> str | None:
    if shift:
        char = char.upper()
    if not ctrl:
        return char
    if "a" <= char.lower() <= "z":
        return chr(ord(char.lower()) - ord("a") + 1)
    code = _CONTROL_PUNCTUATION.get(char)
    return None if code is None else chr(code)


def _modified_named_key(sent: str, ctrl: bool, shift: bool, meta: bool) -> str | None:
    if sent == "\t" and shift and not ctrl:
        return "\x1b[Z"
    if sent == " " and ctrl:
        return "\x00"
    match = _MODIFIABLE.fullmatch(sent)
    if match is None:
        return None  # tmux has no byte sequence of its own for it: the text is typed as is
    modifier = 1 + shift + 2 * meta + 4 * ctrl
    number, final = match[1] or "1", match[2]
    return f"\x1b[{number};{modifier}{final}"


def keystrokes_to_bytes(keystrokes: str) -> str:
    """What to write to the terminal for one command's `keystrokes`."""
    key = key_bytes(keystrokes)
    return keystrokes if key is None else key
