"""The sandbox's terminal as a person would see it: a pyte screen that also keeps what scrolled
off the top, restores the main screen after full-screen programs, and can say what was
written since a given moment.

pyte handles every character in Python, about 1 MB/s. A flood (`yes`, a big `cat`) is mostly
long runs of plain lines, whose only lasting effect is that rows scroll by: such a run is not
drawn line by line; the rows it pushes into the scrollback and the rows it leaves on the screen
are computed at once (see `SandboxScreen.scroll_plain_lines`), with exactly the result pyte would
give (tests/sandbox/test_terminal.py compares the two on generated output)."""

from __future__ import annotations

import copy
import enum
import itertools
import re
from collections import deque
from dataclasses import dataclass

import pyte

from termagent.text_safety import reveal_hidden

# Private modes that switch to the alternate screen (xterm): 47, 1047, and 1049 (which also
# saves the cursor). pyte stores private modes shifted left by 5.
_ALTERNATE_SCREEN_MODES = {47, 1047, 1049}
OUTPUT_LIMIT = 10_000
SCROLLBACK_LINES = 5000
# Plain runs shorter than this go through pyte: a few lines are not worth the set-up.
FAST_PATH_MIN_CHARS = 256


@dataclass(frozen=True)
class TranscriptMark:
    """A position in the terminal's history: the line the cursor was on, counted from the
    first line ever shown, and how many times the screen had been wiped by then."""

    line: int
    wipes: int


@dataclass(frozen=True)
class ScreenChanges:
    """What changed on the screen since the last changes were taken: a cheap feed for a live
    view, which then needs no emulator of its own."""

    rows: dict[int, tuple[pyte.screens.Char, ...]]  # the rows that changed, every cell
    cursor: tuple[int, int, bool]  # x, y, hidden
    scrolled: tuple[str, ...]  # lines that scrolled off the top since, oldest first (the kept ones)
    scrolled_total: int


@dataclass(frozen=True)
class Observation:
    text: str
    # True when the new output cannot be told apart (a full-screen program, a cleared
    # screen): `text` is then the whole visible screen.
    is_full_screen: bool


class SandboxScreen(pyte.Screen):
    def __init__(self, columns: int, lines: int, scrollback_lines: int = SCROLLBACK_LINES) -> None:
        self.scrollback_lines = scrollback_lines  # the scrollback's maxlen, typed as the int it is
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

    # -- plain lines without pyte --------------------------------------------------------------

    def can_scroll_plain_lines(self) -> bool:
        """True when plain lines would only scroll: the cursor at the start of an empty bottom
        row of the main screen, no scrolling region, auto-wrap on and insert mode off."""
        bottom = self.lines - 1
        return (
            self.cursor.x == 0
            and self.cursor.y == bottom
            and not self.buffer.get(bottom)
            and not self.in_alternate_screen
            and tuple(self.margins or (0, bottom)) == (0, bottom)
            and pyte.modes.DECAWM in self.mode
            and pyte.modes.IRM not in self.mode
            and self.scrollback_lines > 0
            and self.lines > 1
        )

    def scroll_plain_lines(self, text: str, start: int, end: int, wraps: bool) -> None:
        """Do what drawing `text[start:end]` would do, when `can_scroll_plain_lines()`. It is
        lines of printable ASCII, each ending with CR LF; `wraps` False says that none is longer
        than a row. A line fills ceil(length / columns) rows (at least one); each row is drawn
        on the bottom row, then scrolled up by the wrap or the LF. So the screen's rows above
        the bottom one, then the new rows, move up by as many rows as there are new ones. Only
        the rows that can still be seen are built: the last ones, which stay on the screen, and
        before them the last `scrollback_lines` that scroll off."""
        columns, kept_on_screen = self.columns, self.lines - 1
        needed = self.scrollback_lines + kept_on_screen
        if wraps:
            lines = text[start : end - 2].split("\r\n")
            total_rows = len(lines) + sum(-(-len(line) // columns) - 1 for line in lines if len(line) > columns)
            rows = [
                line[first : first + columns] for line in lines[-needed:] for first in range(0, len(line) or 1, columns)
            ]
            rows = rows[-needed:]
        else:  # one row per line: only the lines that can be seen are cut out, with the CR LF before them
            total_rows = text.count("\n", start, end)
            tail = text[max(start, end - needed * (columns + 2) - 2) : end]
            rows = tail.rsplit("\r\n", needed + 1)[-needed - 1 : -1]
        carried = max(0, kept_on_screen - total_rows)  # old rows that stay on the screen, moved up
        if len(rows) < needed:  # the whole block: the screen's own rows scroll off before it
            self.scrollback.extend(self.line_text(y) for y in range(kept_on_screen - carried))
        self.scrollback.extend(map(str.rstrip, rows[: max(0, len(rows) - kept_on_screen)]))
        self.scrolled_total += total_rows
        for y in range(carried):
            self.buffer[y] = self.buffer[y + kept_on_screen - carried]
        visible = rows[-(kept_on_screen - carried) :]
        cells = {char: self.cursor.attrs._replace(data=char) for char in set("".join(visible))}
        for y, row in enumerate(visible, start=carried):
            self.buffer.pop(y, None)
            self.buffer[y].update(zip(range(len(row)), map(cells.__getitem__, row), strict=True))
        self.dirty.update(range(self.lines))

    # -- reading ---------------------------------------------------------------------------------
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


class _State(enum.Enum):
    GROUND = enum.auto()  # characters are drawn or are single controls
    ESCAPE = enum.auto()  # after ESC
    ONE_MORE = enum.auto()  # one more character ends the sequence (ESC #, ESC %, ESC (, CSI ... $)
    CSI = enum.auto()
    OSC_CODE = enum.auto()
    OSC = enum.auto()
    OSC_ESCAPE = enum.auto()  # ESC inside an OSC: ESC \\ ends it


# What the character after ESC starts; any other one ends the sequence.
_AFTER_ESCAPE = {"[": _State.CSI, "]": _State.OSC_CODE} | dict.fromkeys("#%()", _State.ONE_MORE)
_CSI_PARAMETERS_END = re.compile("[^?\x07-\x0d >;0-9]")  # the first character after the parameters
_OSC_END = re.compile("[\x07\x9c\x1b]")
# Plain lines: printable ASCII, each ending with CR LF (a lone CR, as in a progress bar, redraws
# its row; a lone LF keeps the column).
_PLAIN_LINES = re.compile(r"(?:[ -~]*\r\n)*")
# What ends a plain run.
_NOT_PLAIN = re.compile("[^ -~\r\n]|\r(?!\n)|(?<!\r)\n")
# The shape of ASCII text, one byte a character: printable 0, CR and LF themselves, any other 1.
# Made once a feed; plain lines are found in it with bytes find and count, which allocate nothing
# and run at memory speed however short the lines are (a regular expression takes `yes` at 20 MB/s).
_SHAPES = bytes(0 if 0x20 <= code < 0x7F else code if code in (0x0A, 0x0D) else 1 for code in range(256))


def _all_plain_lines(shape: bytes, start: int, end: int) -> bool:
    """Whether the text of `shape[start:end]` (which ends with CR LF) is plain lines."""
    lines = shape.count(b"\n", start, end)
    return shape.find(1, start, end) < 0 and shape.count(b"\r", start, end) == lines == shape.count(b"\r\n", start, end)


class _ParserTracker:
    """Follows pyte's escape-sequence parser (pyte.Stream._parser_fsm) through the same text, just
    far enough to know which spans it takes in its ground state, where plain text is drawn. The
    text has been through reveal_hidden, so ESC is the only character that starts a sequence
    (the C1 introducers CSI and OSC are shown as escapes, not obeyed)."""

    def __init__(self) -> None:
        self.state = _State.GROUND

    def ground_spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        state, position, length = self.state, 0, len(text)
        while position < length:
            if state is _State.GROUND:
                end = text.find("\x1b", position)
                if end < 0:
                    spans.append((position, length))
                    break
                if end > position:
                    spans.append((position, end))
                state, position = _State.ESCAPE, end + 1
            elif state is _State.CSI:
                found = _CSI_PARAMETERS_END.search(text, position)
                if found is None:
                    break
                position = found.start()
                char = text[position]
                position += 1
                if char == "$":
                    state = _State.ONE_MORE
                elif not char.isdigit():  # pyte takes any digit, not only ASCII ones
                    state = _State.GROUND
            elif state is _State.OSC:
                found = _OSC_END.search(text, position)
                if found is None:
                    break
                position = found.end()
                state = _State.OSC_ESCAPE if found[0] == "\x1b" else _State.GROUND
            else:
                char = text[position]
                position += 1
                if state is _State.ESCAPE:
                    state = _AFTER_ESCAPE.get(char, _State.GROUND)
                elif state is _State.OSC_CODE:
                    state = _State.GROUND if char in "RP" else _State.OSC
                elif state is _State.OSC_ESCAPE:
                    state = _State.GROUND if char == "\\" else _State.OSC
                else:
                    state = _State.GROUND
        self.state = state
        return spans


def plain_runs(text: str, spans: list[tuple[int, int]], minimum: int, shape: bytes | None) -> list[tuple[int, int]]:
    """The runs of whole plain lines (printable ASCII, each ending with CR LF), at least
    `minimum` characters long, inside `spans`; `shape` is the text's, when it is ASCII."""
    runs = []
    for start, end in spans:
        if text.startswith("\n", start):  # the LF of a CR LF split between two reads
            start += 1
        last_line_end = text.rfind("\r\n", start, end)
        if last_line_end < 0 or last_line_end + 2 - start < minimum:
            continue
        if shape is not None and _all_plain_lines(shape, start, last_line_end + 2):  # a flood: all at once
            runs.append((start, last_line_end + 2))
            continue
        position = start
        while position < end:
            found = _PLAIN_LINES.match(text, position, end)
            run_end = found.end() if found else position
            if run_end - position >= minimum:
                runs.append((position, run_end))
            # The run ends at the line holding the next character that is not plain (or at
            # the last, unfinished line); the next run starts after that character.
            found = _NOT_PLAIN.search(text, run_end, end)
            if found is None:
                break
            position = found.end()
    return runs


class Terminal:
    """A screen plus the pyte stream that feeds it. Characters that could hide or act (C1
    controls, bidi overrides, zero-width characters) are shown as escapes, so that the model
    and the person see them."""

    def __init__(
        self,
        columns: int = 160,
        lines: int = 40,
        *,
        scrollback_lines: int = SCROLLBACK_LINES,
        fast_path_min_chars: int = FAST_PATH_MIN_CHARS,
    ) -> None:
        self.screen = SandboxScreen(columns, lines, scrollback_lines)
        self._stream = pyte.Stream(self.screen)
        self._parser = _ParserTracker()
        self._fast_path_min_chars = fast_path_min_chars
        self._scrolled_reported = 0

    def changes(self, everything: bool = False) -> ScreenChanges:
        """The rows changed (all of them with `everything`) and the lines scrolled off since
        the last call."""
        screen = self.screen
        rows = range(screen.lines) if everything else sorted(y for y in screen.dirty if 0 <= y < screen.lines)
        blank = screen.default_char
        changed = {y: tuple(screen.buffer[y].get(x, blank) for x in range(screen.columns)) for y in rows}
        screen.dirty.clear()
        new_lines = min(screen.scrolled_total - self._scrolled_reported, len(screen.scrollback))
        scrolled = tuple(itertools.islice(screen.scrollback, len(screen.scrollback) - new_lines, None))
        self._scrolled_reported = screen.scrolled_total
        cursor = screen.cursor
        return ScreenChanges(changed, (cursor.x, cursor.y, cursor.hidden), scrolled, screen.scrolled_total)

    def feed(self, text: str) -> None:
        if not text.isascii():
            text = reveal_hidden(text)
        shape = text.encode("ascii").translate(_SHAPES) if text.isascii() else None
        position = 0
        for start, end in plain_runs(text, self._parser.ground_spans(text), self._fast_path_min_chars, shape):
            self._stream.feed(text[position:start])
            self._feed_plain_lines(text, start, end, shape)
            position = end
        self._stream.feed(text[position:])

    def _feed_plain_lines(self, text: str, start: int, end: int, shape: bytes | None) -> None:
        # The first lines go through pyte until the cursor sits at the start of a fresh bottom
        # row; from there on the rest only scrolls. (At most a screenful: each line moves the
        # cursor down or scrolls.)
        position = start
        for _ in range(self.screen.lines + 1):
            if self.screen.can_scroll_plain_lines():
                # A line longer than a row shows as more printable characters in a row than there are columns.
                wraps = shape is None or shape.find(bytes(self.screen.columns + 1), position, end) >= 0
                self.screen.scroll_plain_lines(text, position, end, wraps)
                return
            line_end = text.index("\r\n", position, end) + 2
            self._stream.feed(text[position:line_end])
            position = line_end
            if position == end:
                return
        self._stream.feed(text[position:end])
