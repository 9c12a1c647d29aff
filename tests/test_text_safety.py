"""The one escaping module every view goes through."""

import json
import random

import pytest

from termagent.text_safety import escape_for_display, is_safe, json_line, printable, without_lone_surrogates

HOSTILE = [
    "\x1b",
    "\x07",
    "\x7f",
    "\x85",
    "\x9b",
    "\x9d",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u2028",
    "\ufeff",
    "\ud800",
    "\U000e0041",
    "\U000f0000",
    "\u0378",
]  # ... tag character, private use, unassigned
VISIBLE = ["a", "é", "测", "\U0001f600", "\\", '"']


@pytest.mark.parametrize("char", HOSTILE)
def test_nothing_hostile_survives_printable_or_json_line(char):
    text = f"x{char}y"
    assert char not in printable(text) and char not in json_line({"k": text})
    assert json.loads(json_line({"k": text})) == {"k": text}
    assert not is_safe(char)


def test_visible_text_stays_readable():
    text = "".join(VISIBLE) + "\nnext line"
    assert printable(text) == text
    assert json_line([text]) == json.dumps([text], ensure_ascii=False)
    assert escape_for_display("a\\b\n") == "a\\\\b\\n"  # keystrokes: unambiguous, one line


def test_json_line_round_trips_random_text():
    chooser = random.Random(10)
    for _ in range(200):
        text = "".join(
            chr(chooser.choice([chooser.randrange(0x20, 0x7F), chooser.randrange(0, 0x110000)])) for _ in range(20)
        )
        line = json_line({"text": text})
        assert json.loads(line) == {"text": text}
        assert all(is_safe(char) for char in line)
        line.encode("utf-8")  # lone surrogates included: always encodable


def test_lone_surrogates_become_replacement_characters_in_json_data():
    assert without_lone_surrogates({"a\udc80": ["x\ud800", 1, {"k": "\udfff"}]}) == {
        "a\ufffd": ["x\ufffd", 1, {"k": "\ufffd"}]
    }
    assert without_lone_surrogates("\U0001f600") == "\U0001f600"


def _spelled_out(char: str) -> str:
    """The escape each character gets, written out as the display format documents it."""
    named = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    code = ord(char)
    if char in named:
        return named[char]
    if " " <= char <= "~":
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def test_escape_for_display_spells_every_code_point_as_documented():
    # escape_for_display is the unicode_escape codec; this holds it to the documented format.
    everything = [chr(code) for code in range(0x110000)]
    assert [escape_for_display(char) for char in everything] == [_spelled_out(char) for char in everything]
    assert escape_for_display("".join(everything)) == "".join(map(_spelled_out, everything))
