"""Untrusted text made safe to show in the TUI. Sandbox output reaches the person only through
the pyte emulator's cells, turned here into styled segments; any character that could still act
on the person's terminal (what termagent.text_safety calls unsafe) is shown as a visible escape
in ESCAPED_STYLE instead. Rich Text is never parsed as markup."""

from __future__ import annotations

import functools

import pyte
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from termagent.text_safety import escape_for_display, is_safe

ESCAPED_STYLE = Style(color="red", reverse=True)
_PYTE_COLOURS = {"brown": "yellow", "brightbrown": "bright_yellow"}
_CONSOLE = Console(width=10_000)  # only turns Text into segments; never writes anywhere


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
def _cell_style(
    fg: str, bg: str, bold: bool, italics: bool, underscore: bool, strikethrough: bool, reverse: bool
) -> Style:
    return Style(
        color=_colour(fg),
        bgcolor=_colour(bg),
        bold=bold or None,
        italic=italics or None,
        underline=underscore or None,
        strike=strikethrough or None,
        reverse=reverse or None,
    )


def _style_of(char: pyte.screens.Char, cursor: bool) -> Style:
    return _cell_style(
        char.fg, char.bg, char.bold, char.italics, char.underscore, char.strikethrough, char.reverse != cursor
    )


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
