"""Sandbox output reaches the display only as pyte cells turned into Rich Text: no control
sequence, C1 byte or bidi override survives, and colours do."""

from __future__ import annotations

import unicodedata

from rich.console import Console
from rich.segment import Segments

from termagent.sandbox.terminal import Terminal
from termagent.tui.safe_text import ESCAPED_STYLE, safe_text, screen_row
from termagent.tui.terminal_pane import ScreenMirror

HOSTILE = (
    "\x1b]52;c;UFdORUQ=\x07"  # OSC 52: write the person's clipboard
    "\x1b]0;PWNED-TITLE\x07"  # window title
    "\x1b]8;;http://evil.example/\x07LINK\x1b]8;;\x07"  # hyperlink
    "\x1b[6n\x1b[5n"  # device status queries
    " \x9b31m C1 \u202eDESREVER\u2066 \u200b"  # C1 CSI, bidi overrides and isolates, zero width space
    "\x1b[1;31mRED\x1b[0m \x1b[38;5;33mBLUE256\x1b[0m \x1b[48;2;1;2;3mTRUE\x1b[0m"
)


def _unsafe(text: str) -> list[str]:
    return [c for c in text if c != "\n" and (unicodedata.category(c) in ("Cc", "Cf") or "\x80" <= c <= "\x9f")]


def _frame(mirror: ScreenMirror) -> tuple[str, str]:
    """The changed rows as plain text, and what Rich would write to a real terminal for them."""
    rows = mirror.render()
    assert rows is not None
    strips = [rows[y] for y in sorted(rows)]
    console = Console(width=400, color_system="truecolor", force_terminal=True)
    with console.capture() as capture:
        for strip in strips:
            console.print(Segments(list(strip)))
    return "\n".join(strip.text for strip in strips), capture.get()


def _shown(mirror: ScreenMirror, terminal: Terminal, output: str) -> None:
    """Output through the session's emulator to the pane's copy, as in a run."""
    terminal.feed(output)
    mirror.apply(terminal.changes())


def test_hostile_output_leaves_no_control_character_in_the_frame():
    mirror = ScreenMirror()
    _shown(mirror, Terminal(), HOSTILE)
    plain, written = _frame(mirror)
    assert _unsafe(plain) == []
    assert "LINK" in plain and "RED" in plain
    assert "PWNED" not in plain  # the title went nowhere
    assert "\\u202eDESREVER\\u2066 \\u200b" in plain  # shown escaped, not obeyed
    assert "\\x9b31m C1" in plain  # the C1 CSI is not obeyed either
    # The only escape sequences Rich writes are its own colour codes (SGR), never OSC or queries.
    assert "\x1b]" not in written and "\x07" not in written and "\x1b[6n" not in written and "\x9b" not in written


def test_colours_and_attributes_are_kept():
    terminal = Terminal(40, 3)
    terminal.feed("\x1b[1;31mRED\x1b[0m \x1b[38;5;33mB\x1b[0m \x1b[48;2;1;2;3mT\x1b[0m \x1b[7mR\x1b[0m")
    styles = {segment.text.strip(): segment.style for segment in screen_row(terminal.screen, 0)}
    assert styles["RED"].bold and styles["RED"].color.name == "red"
    assert styles["B"].color.triplet.hex == "#0087ff"
    assert styles["T"].bgcolor.triplet.hex == "#010203"
    assert styles["R"].reverse


def test_safe_text_escapes_and_marks_what_it_replaced():
    text = safe_text("ok\x1b[2J\u202eé\n")
    assert text.plain == "ok\\x1b[2J\\u202eé\n"
    assert [text.plain[s.start : s.end] for s in text.spans if s.style == ESCAPED_STYLE] == ["\\x1b", "\\u202e"]


def test_only_dirty_lines_are_drawn_again():
    mirror, terminal = ScreenMirror(20, 4), Terminal(20, 4)
    _shown(mirror, terminal, "one\r\ntwo")
    rows = mirror.render()
    assert [rows[0].text, rows[1].text] == ["one" + " " * 17, "two" + " " * 17]
    assert mirror.render() is None  # nothing new
    _shown(mirror, terminal, "\r\nthree")
    assert {y: strip.text.rstrip() for y, strip in mirror.render().items()} == {1: "two", 2: "three"}


def test_the_pane_copy_matches_the_session_screen_without_emulating_again():
    terminal, mirror = Terminal(30, 6), ScreenMirror(30, 6)
    pieces = [
        "$ seq 3000\r\n",
        "".join(f"{n}\r\n" for n in range(3000)),
        "\x1b[1;31mred\x1b[0m and a long line " * 5,
        "\r\n\x1b[?1049h\x1b[H\x1b[2Jfull screen\x1b[3;4Hframe",
        "\x1b[?1049l",
        "50%\r100%\r\n$ ",
    ]
    for piece in pieces:
        _shown(mirror, terminal, piece)
        for y in range(6):
            assert [terminal.screen.buffer[y][x] for x in range(30)] == [mirror.screen.buffer[y][x] for x in range(30)]
        assert (mirror.screen.cursor.x, mirror.screen.cursor.y) == (terminal.screen.cursor.x, terminal.screen.cursor.y)
        assert list(mirror.screen.scrollback) == list(terminal.screen.scrollback)
        assert mirror.screen.scrolled_total == terminal.screen.scrolled_total
    assert mirror.text() == terminal.screen.text()


def test_rows_drawn_again_from_the_cache_are_what_drawing_them_gives():
    # The pane keeps drawn rows by content: the same text in other colours, or with the cursor
    # on it, is another row; a flood of one repeated row is drawn once.
    mirror, terminal = ScreenMirror(20, 4), Terminal(20, 4)
    pieces = [
        "same\r\n" * 10,
        "\x1b[31msame\x1b[0m\r\nsame",
        "\r\n",
        "\x1b[7msame\x1b[0m\r\n",
        "sane\r\nsa\x1b[32mme\x1b[0m\r\n",
        "same\r\n" * 3,
        "\x1b[?25l",
    ]
    for piece in pieces:
        _shown(mirror, terminal, piece)
        cursor = mirror.screen.cursor
        for y, strip in mirror.render().items():
            assert strip == screen_row(mirror.screen, y, None if cursor.hidden or y != cursor.y else cursor.x)
