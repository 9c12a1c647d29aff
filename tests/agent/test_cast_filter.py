"""The cast filter on its own: what draws stays, what acts on the player goes, however the
output is cut into pieces. (test_hostile_output.py records a real sandbox session.)"""

import random

import pytest

from termagent.agent.cast import PlaybackFilter

DRAWS = [
    "plain text\r\n",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[1;32;44m",
    "\x1b[38;2;1;2;3m",
    "\x1b[10;20H",
    "\x1b[2J",
    "\x1b[K",
    "\x1b[?25l",
    "\x1b[?1049h",
    "\x1b[?1049l",
    "\x1b[3A",
    "\x1b7",
    "\x1b8",
    "\x1bM",
    "\x1b(0",
    "\x1b(B",
    "\x1b[5 q",
    "\x1b[1;24r",
    "\x1b[2T",
    "ünïcode ✓",
]
ACTS = [
    "\x1b]52;c;cHduZWQ=\x07",
    "\x1b]0;title\x1b\\",
    "\x1b]8;;http://evil/\x1b\\",
    "\x1bP+q544e\x1b\\",
    "\x1b_apc\x1b\\",
    "\x1b^pm\x1b\\",
    "\x1bXsos\x1b\\",
    "\x1b[6n",
    "\x1b[5n",
    "\x1b[c",
    "\x1b[>c",
    "\x1b[=c",
    "\x1b[18t",
    "\x1b[?1000h",
    "\x1b[?2004h",
    "\x1b[?1h",
    "\x1b[>4;1m",
    "\x1b[?u",
    "\x1b=",
    "\x1bZ",
    "\x1b[?1$p",
    "\x9d0;title\x9c",
    "\x9b6n",
    "\x90dcs\x9c",
    "\x1b[5i",
    "\x05",  # ENQ: PuTTY answers it
    "\x1b[1;2;3;4;5T",  # xterm's mouse highlight tracking
]


@pytest.mark.parametrize("seed", range(20))
def test_drawing_kept_and_acting_dropped_whatever_the_cut(seed):
    chooser = random.Random(seed)
    parts = [chooser.choice(DRAWS + ACTS) for _ in range(200)]
    stream = "".join(parts)
    expected = "".join(part for part in parts if part in DRAWS)
    cuts = sorted(chooser.sample(range(1, len(stream)), 60))
    pieces = [stream[start:end] for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    recorder = PlaybackFilter()
    assert "".join(recorder.feed(piece) for piece in pieces) == expected


def test_c1_csi_colours_are_kept_in_their_escape_form():
    assert PlaybackFilter().feed("\x9b31mred\x9b0m\x85") == "\x1b[31mred\x1b[0m"


def test_an_unterminated_string_swallows_what_follows_but_not_the_next_piece_after_it_ends():
    recorder = PlaybackFilter()
    assert recorder.feed("before\x1b]52;c;" + "A" * 10_000) == "before"
    assert recorder.feed("B" * 100 + "\x07after") == "after"
