import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from termagent.sandbox.terminal import Terminal, cap_middle


def test_output_since_a_mark_includes_lines_that_scrolled_off():
    terminal = Terminal(20, 5)
    terminal.feed("$ ")
    mark = terminal.screen.mark()
    terminal.feed("seq 12\r\n" + "".join(f"{n}\r\n" for n in range(1, 13)) + "$ ")
    observation = terminal.screen.output_since(mark)
    assert not observation.is_full_screen
    assert observation.text.splitlines() == ["$ seq 12", *map(str, range(1, 13)), "$"]


def test_alternate_screen_is_reported_whole_and_the_main_screen_restored():
    terminal = Terminal(20, 5)
    terminal.feed("$ vim\r\n")
    mark = terminal.screen.mark()
    terminal.feed("\x1b[?1049h\x1b[H\x1b[2Jeditor frame")
    observation = terminal.screen.output_since(mark)
    assert observation.is_full_screen and observation.text == "editor frame"
    terminal.feed("\x1b[?1049l$ ")
    assert terminal.screen.text() == "$ vim\n$"
    assert terminal.screen.output_since(mark).text == "$"


def test_wide_characters_render_once():
    terminal = Terminal(20, 5)
    terminal.feed("日本語 ok")
    assert terminal.screen.text() == "日本語 ok"


def test_cleared_screen_is_reported_whole():
    terminal = Terminal(20, 5)
    terminal.feed("old\r\n$ ")
    mark = terminal.screen.mark()
    terminal.feed("clear\r\n\x1b[H\x1b[2J$ ")
    observation = terminal.screen.output_since(mark)
    assert observation.is_full_screen and observation.text == "$"


def test_long_output_keeps_head_and_tail():
    text = "a" * 6000 + "MIDDLE" + "z" * 6000
    capped = cap_middle(text, 10_000)
    assert capped.startswith("a" * 5000) and capped.endswith("z" * 5000)
    assert "MIDDLE" not in capped and "omitted" in capped
    assert cap_middle("short") == "short"


def test_scrollback_is_bounded():
    terminal = Terminal(20, 5)
    terminal.screen.scrollback = type(terminal.screen.scrollback)(maxlen=100)
    mark = terminal.screen.mark()
    terminal.feed("y\r\n" * 1000)
    assert len(terminal.screen.scrollback) == 100
    assert "scrolled out of memory" in terminal.screen.output_since(mark).text


def test_redraw_text_rebuilds_the_screen_and_cursor_in_another_emulator():
    original = Terminal(20, 5)
    original.feed("line one\r\n$ ")
    copy = Terminal(20, 5)
    copy.feed(original.screen.redraw_text())
    copy.feed("typed")
    assert copy.screen.text() == "line one\n$ typed"


# -- the fast path for plain lines gives exactly what feeding every character to pyte gives ------

COLUMNS, LINES, KEPT = 12, 5, 30
_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_plain_lines = st.lists(_printable, min_size=1, max_size=120).map(
    lambda lines: "".join(f"{line}\r\n" for line in lines)
)
_pieces = st.one_of(
    _plain_lines,
    _plain_lines.map(lambda block: block.replace("\r\n", "\n")),  # LF without CR: not plain
    st.sampled_from(
        [
            "\x1b[31m",
            "\x1b[1;42m",
            "\x1b[0m",
            "\x1b[38;5;33m",  # colours
            "10%\r20%\r30%\r100%\r\n",
            "[##   ]\r[#### ]\r",  # progress bars
            "\x1b[?1049h\x1b[H\x1b[2Jfull screen\x1b[3;4Hframe\x1b[?1049l",  # a full-screen program
            "\x1b[?1049h",
            "\x1b[?1049l",
            "\x1b[H\x1b[2J",
            "\x1b[2;3H",
            "\x1b[A",
            "\x1b[K",
            "\x1b[2;4r",
            "\x1b[r",  # a scrolling region, and back
            "\x1b[4h",
            "\x1b[4l",
            "\x1b[?7l",
            "\x1b[?7h",  # insert mode, no auto-wrap
            "\x1b]0;title\x07",
            "\x1b]0;never ended ",
            "\x07",
            "\x1b]8;;x\x1b\\",
            "\x1b]",
            "\x1b[",
            "\x1b",
            "\x1b[3",
            "\x1b[1$",
            "\x1b(0",
            "\x1b#8",
            "\x9b1m",
            "\x9d0;t\x9c",
            "\t",
            "\b",
            "\r",
            "\n",
            "\r\n",
            "\x1bD",
            "\x1bM",
            "日本",
            "é\u0301",
            "\u202e",
            "\x18",
        ]
    ),
    _printable,
)


def _state(terminal: Terminal) -> dict:
    screen = terminal.screen
    return {
        "buffer": {y: dict(row) for y, row in screen.buffer.items() if row},
        "cursor": (screen.cursor.x, screen.cursor.y, screen.cursor.attrs, screen.cursor.hidden),
        "scrollback": list(screen.scrollback),
        "scrolled": screen.scrolled_total,
        "wipes": screen.wipes,
        "alternate": screen.in_alternate_screen,
        "margins": screen.margins,
        "mode": set(screen.mode),
        "text": screen.text(),
        "redraw": screen.redraw_text(),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(st.lists(_pieces, max_size=30), st.lists(st.integers(0, 10_000), max_size=8), st.integers(1, 200))
def test_the_fast_path_gives_what_feeding_every_character_gives(pieces, cuts, minimum):
    text = "".join(pieces)
    fast = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=minimum)
    every = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=sys.maxsize)
    marks = (fast.screen.mark(), every.screen.mark())
    positions = sorted({cut % (len(text) + 1) for cut in cuts} | {0, len(text)})
    for start, end in zip(positions, positions[1:], strict=False):  # the same text, arriving in pieces
        fast.feed(text[start:end])
    for char in text:
        every.feed(char)
    assert _state(fast) == _state(every)
    assert fast.screen.output_since(marks[0]) == every.screen.output_since(marks[1])


def test_a_flood_of_plain_lines_takes_the_fast_path_with_the_same_result():
    flood = "$ yes\r\n" + "y\r\n" * 200_000 + "x" * 500 + "\r\n" + "".join(f"line {n}\r\n" for n in range(300)) + "$ "
    fast, every = Terminal(), Terminal(fast_path_min_chars=sys.maxsize)
    marks = (fast.screen.mark(), every.screen.mark())
    fast.feed(flood)
    every.feed(flood)
    assert _state(fast) == _state(every)
    assert fast.screen.output_since(marks[0]) == every.screen.output_since(marks[1])
    assert fast.screen.scrolled_total > 200_000


@pytest.mark.parametrize("lengths", [[COLUMNS], [COLUMNS, COLUMNS - 1], [COLUMNS - 1, COLUMNS, 0, 3], [1], [0]])
def test_lines_that_fit_a_row_are_cut_from_the_end_of_the_block_exactly(lengths):
    # The rows that stay visible are cut from the end of a block without splitting all of it:
    # every count of lines around what the screen and the scrollback keep, in pieces of any size.
    kept = KEPT + LINES - 1
    rng = random.Random(12)
    for count in [kept - 2, kept - 1, kept, kept + 1, kept + 2, 7 * kept]:
        lines = [(str(number) * COLUMNS)[: lengths[number % len(lengths)]] for number in range(count)]
        text = "$ flood\r\n" + "".join(f"{line}\r\n" for line in lines) + "$ "
        fast = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=1)
        every = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=sys.maxsize)
        marks = (fast.screen.mark(), every.screen.mark())
        cuts = sorted(rng.sample(range(1, len(text)), 3))
        for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
            fast.feed(text[start:end])
        every.feed(text)
        assert _state(fast) == _state(every), (lengths, count)
        assert fast.screen.output_since(marks[0]) == every.screen.output_since(marks[1])


def test_lone_carriage_returns_and_line_feeds_that_balance_out_are_not_plain_lines():
    # As many CRs as LFs, but not in pairs: a progress bar (CR) and lines ended by LF alone.
    text = (
        "$ run\r\n"
        + "start\r\n" * 10
        + "".join(f"{n}%\r" for n in range(0, 100, 10))
        + "done\r\n"
        + "line\n" * 10
        + "end\r\n$ "
    )
    for minimum in (1, 16, 64):
        fast = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=minimum)
        every = Terminal(COLUMNS, LINES, scrollback_lines=KEPT, fast_path_min_chars=sys.maxsize)
        fast.feed(text)
        every.feed(text)
        assert _state(fast) == _state(every)
