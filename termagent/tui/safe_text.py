"""Untrusted text made safe to show. Sandbox output reaches the person only through the pyte
emulator's cells, turned here into styled segments; any character that could still act on the
person's terminal (C0/C1 controls, bidi overrides, zero-width and other format characters)
is shown as a visible escape instead. Rich Text is never parsed as markup."""

from __future__ import annotations

import functools
import re
import unicodedata

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from termagent.policy.keystrokes import escape_for_display

# Cc: C0 and C1 controls (ESC, CSI 0x9b, ...); Cf: format characters (bidi overrides, zero
# width joiners); the rest have no glyph a person could read.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
ESCAPED_STYLE = Style(color="red", reverse=True)
_PYTE_COLOURS = {"brown": "yellow", "brightbrown": "bright_yellow"}
_CONSOLE = Console(width=10_000)  # only turns Text into segments; never writes anywhere


def is_safe(char: str) -> bool:
    return " " <= char <= "~" or (char > "\x7f" and unicodedata.category(char) not in _HIDDEN_CATEGORIES)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def reveal_hidden(output: str) -> str:
    """Terminal output before it reaches pyte: C1 bytes and invisible characters become visible
    escapes. (pyte would obey a C1 CSI, and silently drops the rest of a line after a bidi
    override.) C0 controls and ESC sequences are left to pyte, whose effects stay in its cells."""
    return _NON_ASCII.sub(lambda match: match[0] if is_safe(match[0]) else escape_for_display(match[0]), output)


def safe_text(text: str, style: Style | str = "") -> Text:
    """`text` with every unsafe character replaced by its escape in ESCAPED_STYLE; newlines kept."""
    out = Text(style=style)
    plain_run: list[str] = []
    for char in text:
        if char == "\n" or is_safe(char):
            plain_run.append(char)
            continue
        out.append("".join(plain_run))
        plain_run.clear()
        out.append(escape_for_display(char), ESCAPED_STYLE)
    out.append("".join(plain_run))
    return out


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    name = _PYTE_COLOURS.get(name, name)
    return f"bright_{name[6:]}" if name.startswith("bright") and not name.startswith("bright_") else name


@functools.lru_cache(maxsize=4096)
def _cell_style(fg: str, bg: str, bold: bool, italics: bool, underscore: bool, strikethrough: bool,
                reverse: bool) -> Style:
    return Style(color=_colour(fg), bgcolor=_colour(bg), bold=bold or None, italic=italics or None,
                 underline=underscore or None, strike=strikethrough or None, reverse=reverse or None)


def _style_of(char: pyte.screens.Char, cursor: bool) -> Style:
    return _cell_style(char.fg, char.bg, char.bold, char.italics, char.underscore, char.strikethrough,
                       char.reverse != cursor)


def screen_row(screen: pyte.Screen, y: int, cursor_x: int | None = None) -> Strip:
    """Row `y` of the screen as one Textual line, colours and attributes kept; the cell at
    `cursor_x` is drawn reversed. Unsafe characters in a cell are shown escaped."""
    line = screen.buffer[y]
    segments: list[Segment] = []
    run: list[str] = []
    run_style: Style | None = None
    for x in range(screen.columns):
        char = line[x]
        style = _style_of(char, x == cursor_x)
        data = char.data
        if not all(map(is_safe, data)):
            segments.append(Segment("".join(run), run_style))
            run, run_style = [], None
            segments.extend(as_strip(safe_text(data, style)))  # the escape, in the cell's colours
            continue
        if style is not run_style and run:
            segments.append(Segment("".join(run), run_style))
            run = []
        run_style = style
        run.append(data)
    segments.append(Segment("".join(run), run_style))
    return Strip([segment for segment in segments if segment.text])


def as_strip(text: Text) -> Strip:
    """One line of Text as a Textual line."""
    return Strip(list(text.render(_CONSOLE)))
