"""The sandbox's terminal as a person would see it: a pyte screen that also keeps what scrolled
off the top, restores the main screen after full-screen programs, and can say what was
written since a given moment."""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass

import pyte

# Private modes that switch to the alternate screen (xterm): 47, 1047, and 1049 (which also
# saves the cursor). pyte stores private modes shifted left by 5.
_ALTERNATE_SCREEN_MODES = {47, 1047, 1049}
OUTPUT_LIMIT = 10_000


@dataclass(frozen=True)
class TranscriptMark:
    """A position in the terminal's history: the line the cursor was on, counted from the
    first line ever shown, and how many times the screen had been wiped by then."""

    line: int
    wipes: int


@dataclass(frozen=True)
class Observation:
    text: str
    # True when the new output cannot be told apart (a full-screen program, a cleared
    # screen): `text` is then the whole visible screen.
    is_full_screen: bool


class SandboxScreen(pyte.Screen):
    def __init__(self, columns: int, lines: int, scrollback_lines: int = 5000) -> None:
        self.scrollback: deque[str] = deque(maxlen=scrollback_lines)
        self.scrolled_total = 0
        self.wipes = 0
        self._saved_main: tuple[dict, pyte.screens.Cursor] | None = None
        super().__init__(columns, lines)

    @property
    def in_alternate_screen(self) -> bool:
        return self._saved_main is not None

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and not self.in_alternate_screen:
            self.scrollback.append(self.line_text(0))
            self.scrolled_total += 1
        super().index()

    def erase_in_display(self, how: int = 0, *args, **kwargs) -> None:
        if how in (2, 3) and not self.in_alternate_screen:
            self.wipes += 1
        super().erase_in_display(how, *args, **kwargs)

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        # `CSI > 4;2 m` (xterm's modifyOtherKeys, sent by vim) is not a colour change.
        if not private:
            super().select_graphic_rendition(*attrs)

    def set_mode(self, *modes: int, **kwargs) -> None:
        if kwargs.get("private") and _ALTERNATE_SCREEN_MODES.intersection(modes):
            self._enter_alternate_screen()
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs) -> None:
        super().reset_mode(*modes, **kwargs)
        if kwargs.get("private") and _ALTERNATE_SCREEN_MODES.intersection(modes):
            self._leave_alternate_screen()

    def _enter_alternate_screen(self) -> None:
        if self._saved_main is None:
            self._saved_main = (dict(self.buffer), copy.copy(self.cursor))
            self.buffer.clear()
            self.dirty.update(range(self.lines))

    def _leave_alternate_screen(self) -> None:
        # pyte has no alternate screen: without this, vim's last frame would stay on screen.
        if self._saved_main is not None:
            saved_buffer, saved_cursor = self._saved_main
            self._saved_main = None
            self.buffer.clear()
            self.buffer.update(saved_buffer)
            self.cursor = saved_cursor
            self.dirty.update(range(self.lines))

    def line_text(self, y: int) -> str:
        line = self.buffer.get(y)
        if not line:
            return ""
        # A wide character's second cell holds "" in pyte, so joining cells gives the text.
        return "".join(line[x].data for x in range(min(max(line) + 1, self.columns))).rstrip()

    def text(self) -> str:
        """The visible screen as plain text, trailing blank lines removed."""
        return "\n".join(self.line_text(y) for y in range(self.lines)).rstrip("\n")

    def redraw_text(self) -> str:
        """Text that redraws this screen in another emulator: the lines, then the cursor put
        back where it is (trailing spaces, like the prompt's, are not in the text)."""
        lines = [self.line_text(y) for y in range(self.lines)]
        while len(lines) > self.cursor.y + 1 and not lines[-1]:
            lines.pop()
        return "\r\n".join(lines) + f"\x1b[{self.cursor.y + 1};{self.cursor.x + 1}H"

    def mark(self) -> TranscriptMark:
        return TranscriptMark(self.scrolled_total + self.cursor.y, self.wipes)

    def output_since(self, mark: TranscriptMark) -> Observation:
        if self.in_alternate_screen or self.wipes != mark.wipes:
            return Observation(cap_middle(self.text()), True)
        last_row = self.cursor.y
        for y in range(self.lines - 1, last_row, -1):
            if self.line_text(y):
                last_row = y
                break
        first_kept = self.scrolled_total - len(self.scrollback)
        lines: list[str] = []
        if mark.line < first_kept:
            lines.append(f"[... {first_kept - mark.line} lines scrolled out of memory ...]")
        for absolute in range(max(mark.line, first_kept), self.scrolled_total + last_row + 1):
            if absolute < self.scrolled_total:
                lines.append(self.scrollback[absolute - first_kept])
            else:
                lines.append(self.line_text(absolute - self.scrolled_total))
        return Observation(cap_middle("\n".join(lines)), False)


def cap_middle(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """Keep the head and the tail of a long output, as the seed model saw in training."""
    if len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n[... output limited to {limit} characters: {omitted} omitted ...]\n{text[-half:]}"


class Terminal:
    """A screen plus the pyte stream that feeds it."""

    def __init__(self, columns: int = 160, lines: int = 40) -> None:
        self.screen = SandboxScreen(columns, lines)
        self._stream = pyte.Stream(self.screen)

    def feed(self, text: str) -> None:
        self._stream.feed(text)
