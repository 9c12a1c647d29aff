"""The live terminal pane: the TUI's own copy of the sandbox screen, fed with the agent's
TERMINAL_OUTPUT events, drawn from pyte's cells at most REFRESH_HZ times a second."""

from __future__ import annotations

import threading

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static

from termagent.sandbox.terminal import SandboxScreen, Terminal
from termagent.tui.safe_text import reveal_hidden, safe_text, screen_line

# Redraws are throttled so that an output flood cannot starve key handling.
REFRESH_HZ = 30


class ScreenMirror:
    """A pyte screen fed from the agent's thread and read from the app's. Lines are drawn again
    only when pyte marked them dirty."""

    def __init__(self, columns: int = 160, lines: int = 40) -> None:
        self.columns, self.lines = columns, lines
        self._terminal = Terminal(columns, lines)
        self._lock = threading.Lock()
        self._rows: list[Text] = [Text() for _ in range(lines)]
        self._cursor_row = 0
        self._changed = True

    @property
    def screen(self) -> SandboxScreen:
        """The pyte screen, to inspect (its scrollback is bounded); only `feed` may change it."""
        return self._terminal.screen

    def feed(self, text: str) -> None:
        with self._lock:
            self._terminal.feed(reveal_hidden(text))
            self._changed = True

    def render(self) -> Text | None:
        """The screen as Text, or None when nothing changed since the last call."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            screen = self._terminal.screen
            cursor = screen.cursor
            dirty = set(screen.dirty) | {self._cursor_row, cursor.y}
            screen.dirty.clear()
            for y in dirty:
                if 0 <= y < self.lines:
                    self._rows[y] = screen_line(screen, y, None if cursor.hidden or y != cursor.y else cursor.x)
            self._cursor_row = cursor.y
        return Text("\n", no_wrap=True, overflow="crop").join(self._rows)

    def scrollback(self) -> Text:
        """What scrolled off the top (plain text), then the screen."""
        with self._lock:
            history = "\n".join(self._terminal.screen.scrollback)
        self.invalidate()
        text = safe_text(history + "\n" if history else "", style="dim")
        text.no_wrap, text.overflow = True, "crop"
        return text + (self.render() or Text())

    def invalidate(self) -> None:
        """Draw every line again on the next render."""
        with self._lock:
            self._changed = True
            self._terminal.screen.dirty.update(range(self.lines))

    def text(self) -> str:
        """The visible screen as plain text (for tests and the summary)."""
        with self._lock:
            return self._terminal.screen.text()


class TerminalPane(ScrollableContainer):
    """Scrolls when the 160x40 screen does not fit. `scrollback` shows the history frozen at
    the moment it was opened; the live view resumes when it is closed."""

    DEFAULT_CSS = """
    TerminalPane { border: round $primary-darken-2; border-title-color: $text-muted; }
    TerminalPane > #screen { width: auto; height: auto; }
    """

    def __init__(self, mirror: ScreenMirror, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mirror = mirror
        self.showing_scrollback = False
        self.border_title = "sandbox (live)"

    def compose(self) -> ComposeResult:
        yield Static(id="screen")

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.redraw)

    def redraw(self) -> None:
        if self.showing_scrollback:
            return
        frame = self.mirror.render()
        if frame is not None:
            self.query_one("#screen", Static).update(frame)

    def toggle_scrollback(self) -> None:
        self.showing_scrollback = not self.showing_scrollback
        screen = self.query_one("#screen", Static)
        if self.showing_scrollback:
            self.border_title = "sandbox (scrollback: frozen)"
            screen.update(self.mirror.scrollback())
            self.call_after_refresh(self.scroll_end, animate=False)
        else:
            self.border_title = "sandbox (live)"
            self.mirror.invalidate()
            self.scroll_home(animate=False)
            self.redraw()
