"""Untrusted text made safe to show or store. Text from the model, the sandbox, file names and
file contents can carry characters that act on a terminal (C0 and C1 controls), hide or reorder
what is shown (bidi overrides, zero-width and other format characters), or cannot even be
encoded (lone surrogates). Every view escapes through this one module."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Cc: C0 and C1 controls (ESC, CSI 0x9b, ...); Cf: format characters (bidi overrides, zero
# width joiners); Cs: lone surrogates; the rest have no glyph a person could read.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters and marks that draw nothing (Unicode's default-ignorable code points outside Cf; the
# variation selectors aside, which emoji need): a file name of Hangul fillers shows as a blank.
_BLANK = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0")
# Runs of characters that need a look (checked a run at a time: most are plain letters).
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e\n]+")
# What json.dumps(ensure_ascii=False) leaves raw: DEL and everything beyond ASCII.
_JSON_RAW = re.compile(r"[^\x00-\x7e]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@functools.lru_cache(maxsize=8192)
def is_safe(char: str) -> bool:
    """A character that only draws a visible glyph (printable ASCII or visible non-ASCII)."""
    return " " <= char <= "~" or (
        char > "\x7f" and unicodedata.category(char) not in _HIDDEN_CATEGORIES and char not in _BLANK
    )


def _escaping(escape: Callable[[str], str]) -> Callable[[re.Match[str]], str]:
    """A substitution for runs of characters: safe ones kept, the others through `escape`."""

    @functools.lru_cache(maxsize=4096)  # the same runs come again and again (ESC, accents, ...)
    def one_run(run: str) -> str:
        if all(map(is_safe, run)):
            return run
        return "".join(char if is_safe(char) else escape(char) for char in run)

    return lambda match: one_run(match[0])


def escape_for_display(text: str) -> str:
    r"""Printable ASCII as is; everything else as a backslash escape, so nothing hides: \\, \n,
    \t, \r, \xNN below U+0100, \uNNNN, \UNNNNNNNN. The `unicode_escape` codec spells every code
    point exactly so (tests/test_text_safety.py checks all of them), lone surrogates included."""
    return text.encode("unicode_escape").decode("ascii")


_ESCAPE_RUN = _escaping(escape_for_display)


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


def printable(text: str) -> str:
    """`text` for a terminal: visible characters and newlines as they are, every other character
    as its escape (a backslash stays a single backslash, so paths and prose read normally)."""
    return _NOT_PRINTABLE_ASCII.sub(_ESCAPE_RUN, text)


def reveal_hidden(output: str) -> str:
    """Non-ASCII characters that could act or hide (C1, bidi overrides, ...) as escapes; ASCII,
    C0 controls and ESC included, left as they are (for a terminal emulator that contains them)."""
    return _NON_ASCII.sub(_ESCAPE_RUN, output)


def without_lone_surrogates(value: Any) -> Any:
    """`value` (a string, or JSON data holding strings) with unpaired surrogates, which no
    encoding can write, replaced by U+FFFD. JSON's \\ud800 escapes make them out of ASCII."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(key): without_lone_surrogates(item) for key, item in value.items()}
    return value


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells characters beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


_JSON_ESCAPE_RUN = _escaping(_json_escape)


def json_line(value: Any) -> str:
    """`value` as one line of JSON that is safe to print and always encodable as UTF-8: visible
    characters raw (readable), controls of every kind, invisible characters and lone surrogates
    as \\u escapes (json.dumps escapes only C0 controls); json.loads gives back the same value."""
    line = json.dumps(value, ensure_ascii=False)
    if line.isascii() and "\x7f" not in line:  # the usual case: nothing to look at
        return line
    return _JSON_RAW.sub(_JSON_ESCAPE_RUN, line)
