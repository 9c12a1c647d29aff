"""The live terminal pane: the sandbox screen as the session's own emulator has it. Each
TERMINAL_OUTPUT event carries the rows that changed (termagent.sandbox.terminal.ScreenChanges),
so no byte is emulated twice; the pane draws them at most REFRESH_HZ times a second. It uses
Textual's line API: a row is turned into a Strip again only when it changed, and a redraw
paints only the visible part of the cached rows."""

from __future__ import annotations

import threading
from collections import OrderedDict

from pyte.screens import Char, StaticDefaultDict
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from termagent.sandbox.terminal import SandboxScreen, ScreenChanges, Terminal
from termagent.tui.safe_text import as_strip, safe_text, screen_row

# Redraws are throttled so that an output flood cannot starve key handling.
REFRESH_HZ = 30
# Rows drawn, kept by content: a flood repeats rows (`yes`), and a row that scrolls up keeps its
# content, so most rows of a frame were drawn before (turning cells into a Strip is the cost).
DRAWN_ROWS_KEPT = 512


class ScreenMirror:
    """The sandbox screen's cells, changed from the agent's thread and read from the app's. The
    SandboxScreen here only stores what the session's emulator reported: nothing is parsed."""

    def __init__(self, columns: int = 160, lines: int = 40) -> None:
        self.columns, self.lines = columns, lines
        self._screen = SandboxScreen(columns, lines)
        self._lock = threading.Lock()
        self._cursor_row = 0
        self._changed = True
        self._cells: dict[int, tuple[Char, ...]] = {}  # each row's cells as last reported
        self._drawn: OrderedDict[tuple[tuple[Char, ...], int | None], Strip] = OrderedDict()
        # Only for output that comes without the session's changes (scripted or replayed events).
        self._own_terminal: Terminal | None = None

    @property
    def screen(self) -> SandboxScreen:
        """The screen, to inspect (its scrollback is bounded); only `show` may change it."""
        return self._screen

    def show(self, output: dict) -> None:
        """A TERMINAL_OUTPUT event's data: the session's screen changes when it carries them,
        else its text, emulated here."""
        changes = output.get("screen")
        if changes is None:
            self._own_terminal = self._own_terminal or Terminal(self.columns, self.lines)
            self._own_terminal.feed(output["text"])
            changes = self._own_terminal.changes()
        self.apply(changes)

    def apply(self, changes: ScreenChanges) -> None:
        with self._lock:
            screen = self._screen
            for y, cells in changes.rows.items():
                if 0 <= y < self.lines:
                    row: StaticDefaultDict[int, Char] = StaticDefaultDict(
                        screen.default_char
                    )  # the type pyte gives every row
                    row.update(enumerate(cells[: self.columns]))
                    screen.buffer[y] = row
                    self._cells[y] = cells[: self.columns]
                    screen.dirty.add(y)
            screen.cursor.x, screen.cursor.y, screen.cursor.hidden = changes.cursor
            screen.scrollback.extend(changes.scrolled)
            screen.scrolled_total = changes.scrolled_total
            self._changed = True

    def render(self) -> dict[int, Strip] | None:
        """The rows that changed since the last call, drawn; None when nothing did."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            screen = self._screen
            cursor = screen.cursor
            dirty = {y for y in screen.dirty | {self._cursor_row, cursor.y} if 0 <= y < self.lines}
            screen.dirty.clear()
            self._cursor_row = cursor.y
            return {y: self._draw(y, None if cursor.hidden or y != cursor.y else cursor.x) for y in dirty}

    def _draw(self, y: int, cursor_x: int | None) -> Strip:
        """Row `y` as a Strip, drawn again only when no row with the same cells was drawn lately."""
        cells = self._cells.get(y)
        if cells is None:  # never reported: blank
            return screen_row(self._screen, y, cursor_x)
        key = (cells, cursor_x)
        strip = self._drawn.get(key)
        if strip is None:
            strip = self._drawn[key] = screen_row(self._screen, y, cursor_x)
            if len(self._drawn) > DRAWN_ROWS_KEPT:
                self._drawn.popitem(last=False)
        else:
            self._drawn.move_to_end(key)
        return strip

    def invalidate(self) -> None:
        """Draw every row again on the next render."""
        with self._lock:
            self._changed = True
            self._screen.dirty.update(range(self.lines))

    def history(self) -> list[Strip]:
        """What scrolled off the top, as plain dimmed rows."""
        with self._lock:
            lines = list(self._screen.scrollback)
        return [as_strip(safe_text(line, "dim")) for line in lines]

    def text(self) -> str:
        """The visible screen as plain text."""
        with self._lock:
            return self._screen.text()


class TerminalPane(ScrollView):
    """Scrolls when the 160x40 screen does not fit. The scrollback view shows the history as it
    was when opened, above the live screen; the live view alone comes back when it is closed."""

    DEFAULT_CSS = "TerminalPane { border: round $primary-darken-2; border-title-color: $text-muted; }"

    def __init__(self, mirror: ScreenMirror, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mirror = mirror
        self.rows: list[Strip] = [Strip([]) for _ in range(mirror.lines)]
        self.history: list[Strip] = []
        self.border_title = "sandbox (live)"
        self.virtual_size = Size(mirror.columns, mirror.lines)

    @property
    def showing_scrollback(self) -> bool:
        return bool(self.history)

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.redraw)

    def redraw(self) -> None:
        changed = self.mirror.render()
        if changed:
            for y, strip in changed.items():
                self.rows[y] = strip
            self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        if row < len(self.history):
            strip = self.history[row]
        else:
            row -= len(self.history)
            strip = self.rows[row] if row < len(self.rows) else Strip([])
        return strip.crop_extend(scroll_x, scroll_x + self.size.width, self.rich_style).apply_style(self.rich_style)

    def visible_text(self) -> str:
        """The rows now shown (what a person sees, scrolled to the top-left), as plain text."""
        return "\n".join(self.render_line(y).text for y in range(self.size.height))

    def toggle_scrollback(self) -> None:
        if self.showing_scrollback:
            self.history = []
            self.border_title = "sandbox (live)"
        else:
            self.history = self.mirror.history() or [Strip([Segment("(nothing has scrolled off yet)")])]
            self.border_title = "sandbox (scrollback, frozen above the live screen)"
        self.virtual_size = Size(self.mirror.columns, len(self.history) + self.mirror.lines)
        self.scroll_to(0, len(self.history), animate=False)
        self.refresh()
