"""An asciinema v2 recording of the sandbox terminal (plays with `asciinema play FILE`).

Whoever plays a recording gives its bytes to their own terminal, so only what draws is kept:
text, colours and attributes, cursor movement, erasing, scrolling, the alternate screen.
Sequences that act on the player's terminal or make it answer (OSC: titles, clipboard,
hyperlinks, colour changes; DCS, SOS, PM and APC strings; device status, attribute and window
queries; modes that change what the keyboard or mouse send) are removed as they are recorded.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from termagent.agent.events import Event, EventType
from termagent.text_safety import json_line

# CSI sequences that draw, by final byte, for sequences without private or intermediate bytes:
# cursor movement and position, erase and insert/delete, scroll, colours (m), scroll region (r),
# save/restore cursor (s, u), repeat (b), tab clear (g).
_DRAWING_CSI_FINALS = frozenset("ABCDEFGHIJKLMPSTXZ@`abdefgmrsu")
# Modes (h/l) that only change how things are drawn: insert mode; with "?": cursor keys aside,
# origin mode, autowrap, cursor blink and visibility, the alternate screens.
_DRAWING_MODES = frozenset({"4"})
_DRAWING_PRIVATE_MODES = frozenset({"6", "7", "12", "25", "47", "1047", "1048", "1049"})
# Two-character ESC sequences that draw: save/restore cursor, index, next line, reverse index,
# tab set, full reset; ESC ( ) * + choose character sets, ESC # 8 fills the screen.
_DRAWING_ESC = frozenset("78DEHMc")
_CHARSET_INTRODUCERS = frozenset("()*+#")
# ESC P, X, ^, _ and ESC ] open strings that run up to ST (ESC \, or BEL for OSC).
_STRING_INTRODUCERS = frozenset("PX^_]")
# C1 controls: the string and CSI introducers and ST become their ESC forms (and are judged as
# such); the others, none of which draws, are dropped.
_C1 = {code: None for code in range(0x80, 0xa0)} | {
    0x90: "\x1bP", 0x98: "\x1bX", 0x9b: "\x1b[", 0x9c: "\x1b\\", 0x9d: "\x1b]", 0x9e: "\x1b^", 0x9f: "\x1b_"}
_MAX_SEQUENCE = 256  # a CSI longer than this is not a real one: dropped
_CSI = re.compile(r"([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")


def _keeps_csi(params: str, intermediates: str, final: str) -> bool:
    if final in "hl" and not intermediates:
        modes = params[1:].split(";") if params.startswith("?") else params.split(";")
        allowed = _DRAWING_PRIVATE_MODES if params.startswith("?") else _DRAWING_MODES
        return all(mode in allowed for mode in modes)
    if final == "q" and intermediates == " ":  # cursor shape
        return True
    if intermediates or (params and params[0] in "<=>?"):
        return False  # private or extended forms: keyboard modes, queries, resets
    return final in _DRAWING_CSI_FINALS


class PlaybackFilter:
    """Removes the sequences that act on a player's terminal from a stream of output pieces;
    a sequence cut between two pieces is held back until it is complete."""

    def __init__(self) -> None:
        self._held = ""  # the start of an escape sequence not yet complete
        self._in_string = False  # inside a string sequence being dropped
        self._string_escape = False  # the previous character in that string was ESC

    def feed(self, text: str) -> str:
        out: list[str] = []
        data = self._held + text.translate(_C1)
        self._held = ""
        index = 0
        while index < len(data):
            if self._in_string:
                index = self._skip_string(data, index)
                continue
            if data[index] != "\x1b":
                next_escape = data.find("\x1b", index)
                next_escape = len(data) if next_escape < 0 else next_escape
                out.append(data[index:next_escape])
                index = next_escape
                continue
            consumed = self._escape(data, index, out)
            if consumed is None:  # incomplete: wait for the next piece
                self._held = data[index:]
                if len(self._held) > _MAX_SEQUENCE:
                    self._held = ""  # not a sequence a terminal would finish either
                break
            index = consumed
        return "".join(out)

    def _escape(self, data: str, start: int, out: list[str]) -> int | None:
        """Handle the ESC at `start`; the index after the sequence, None when it is cut off."""
        if start + 1 >= len(data):
            return None
        kind = data[start + 1]
        if kind == "\x1b" or kind < " ":
            return start + 1  # a lone ESC: dropped; what follows is judged on its own
        if kind == "[":
            match = _CSI.match(data, start + 2)
            if match is None:
                if re.fullmatch(r"[\x20-\x3f]*", data[start + 2:]):
                    return None
                return start + 2  # a broken CSI: drop its introducer, the rest is text
            if _keeps_csi(*match.groups()):
                out.append(data[start:match.end()])
            return match.end()
        if kind in _STRING_INTRODUCERS:
            self._in_string = True
            return start + 2
        if kind in _CHARSET_INTRODUCERS:
            if start + 2 >= len(data):
                return None
            out.append(data[start:start + 3])
            return start + 3
        if kind in _DRAWING_ESC:
            out.append(data[start:start + 2])
        return start + 2  # keypad modes, identify requests and the rest: dropped

    def _skip_string(self, data: str, index: int) -> int:
        """Drop string content up to and including its terminator."""
        while index < len(data):
            char = data[index]
            index += 1
            if self._string_escape:
                self._string_escape = False
                if char == "\\":
                    self._in_string = False
                    return index
            if char == "\x1b":
                self._string_escape = True
            elif char == "\x07":
                self._in_string = False
                return index
        return index


class CastRecorder:
    def __init__(self, path: Path, columns: int = 160, lines: int = 40) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")
        self._started = time.monotonic()
        self._filter = PlaybackFilter()
        header = {"version": 2, "width": columns, "height": lines, "timestamp": int(time.time()),
                  "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"}}
        self._file.write(json.dumps(header) + "\n")

    def __call__(self, event: Event) -> None:
        if event.type is EventType.TERMINAL_OUTPUT and not self._file.closed:
            text = self._filter.feed(event.data["text"])
            if not text:
                return
            elapsed = round(time.monotonic() - self._started, 6)
            self._file.write(json_line([elapsed, "o", text]) + "\n")
            self._file.flush()

    def close(self) -> None:
        self._file.close()
