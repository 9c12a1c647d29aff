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
from dataclasses import dataclass
from pathlib import Path

from termagent.agent.events import Event, EventSink, EventType
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
_C1 = {code: None for code in range(0x80, 0xA0)} | {
    0x90: "\x1bP",
    0x98: "\x1bX",
    0x9B: "\x1b[",
    0x9C: "\x1b\\",
    0x9D: "\x1b]",
    0x9E: "\x1b^",
    0x9F: "\x1b_",
}
# Translated before anything is judged; ENQ, which makes some terminals answer (PuTTY types its
# answerback, "PuTTY"), dropped as well.
_TRANSLATED = {**_C1, 0x05: None}
# CSI T scrolls down with one parameter; with five it starts xterm's mouse highlight tracking.
_ONE_PARAMETER_FINALS = frozenset("T")
_MAX_SEQUENCE = 256  # a sequence longer than this is not a real one: dropped


# ESC not followed by a plain drawing CSI (digits and separators only): the only places that
# need a look; the rest is copied as it is, at the regular expression engine's speed.
def _one_of(characters: frozenset[str]) -> str:
    return "[" + re.escape("".join(sorted(characters))) + "]"


_NEEDS_A_LOOK = re.compile(rf"\x1b(?!\[[0-9;:]*{_one_of(_DRAWING_CSI_FINALS - _ONE_PARAMETER_FINALS)})")
_SEQUENCE = re.compile(
    rf"\x1b(?:\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])|({_one_of(_STRING_INTRODUCERS)})"
    rf"|({_one_of(_CHARSET_INTRODUCERS)})(.)|(.))",
    re.DOTALL,
)
_CSI_BROKEN = re.compile(r"[^\x20-\x3f]")  # the first character no CSI parameter or intermediate can be
_STRING_END = re.compile(r"\x07|\x1b\\")


def _keeps_csi(params: str, intermediates: str, final: str) -> bool:
    if final in "hl" and not intermediates:
        modes = params[1:].split(";") if params.startswith("?") else params.split(";")
        allowed = _DRAWING_PRIVATE_MODES if params.startswith("?") else _DRAWING_MODES
        return all(mode in allowed for mode in modes)
    if final == "q" and intermediates == " ":  # cursor shape
        return True
    if intermediates or (params and params[0] in "<=>?"):
        return False  # private or extended forms: keyboard modes, queries, resets
    if final in _ONE_PARAMETER_FINALS and (";" in params or ":" in params):
        return False
    return final in _DRAWING_CSI_FINALS


class PlaybackFilter:
    """Removes the sequences that act on a player's terminal from a stream of output pieces;
    a sequence cut between two pieces is held back until it is complete."""

    def __init__(self) -> None:
        self._held = ""  # the start of an escape sequence not yet complete
        self._in_string = False  # inside a string sequence being dropped

    def feed(self, text: str) -> str:
        data = self._held + text.translate(_TRANSLATED)
        self._held = ""
        out: list[str] = []
        index = 0
        while index < len(data):
            if self._in_string:
                end = _STRING_END.search(data, index)
                if end is None:
                    self._held = "\x1b" if data.endswith("\x1b") else ""  # perhaps half an ST
                    break
                self._in_string = False
                index = end.end()
                continue
            look = _NEEDS_A_LOOK.search(data, index)
            if look is None:
                out.append(data[index:])
                break
            out.append(data[index : look.start()])
            after = self._sequence(data, look.start(), out)
            if after is None:  # cut off: the rest comes with the next piece
                held = data[look.start() :]
                self._held = held if len(held) <= _MAX_SEQUENCE else ""
                break
            index = after
        return "".join(out)

    def _sequence(self, data: str, start: int, out: list[str]) -> int | None:
        """Judge the sequence at `start`; the index after it, None when it is not complete yet."""
        match = _SEQUENCE.match(data, start)
        if match is None or match[7] in _CHARSET_INTRODUCERS:  # ESC, or ESC and ( ..., at the very end
            return None
        params, intermediates, final, string, charset, charset_name, other = match.groups()
        if final is not None:
            if _keeps_csi(params, intermediates, final):
                out.append(match[0])
        elif string is not None:
            self._in_string = True
        elif charset is not None:
            out.append(match[0])
        elif other == "[":  # a CSI that does not end (yet)
            broken = _CSI_BROKEN.search(data, start + 2)  # after ESC [
            if broken is None:
                return None
            return broken.start()  # broken: dropped up to what broke it
        elif other == "\x1b" or other < " ":
            return start + 1  # a lone ESC: dropped; what follows is judged on its own
        elif other in _DRAWING_ESC:
            out.append(match[0])
        return match.end()


@dataclass(frozen=True)
class CastOptions:
    path: Path
    max_bytes: int  # the whole file's; the output past it is not recorded (a sandbox can print without end)


class CastRecorder:
    """Records the TERMINAL_OUTPUT events it is given; past `options.max_bytes`, writes one last
    event saying so, stops, and tells `warn` (the run's other sinks) with a WARNING event."""

    def __init__(self, options: CastOptions, columns: int, lines: int, warn: EventSink) -> None:
        options.path.parent.mkdir(parents=True, exist_ok=True)
        self._options, self._warn = options, warn
        self._file = options.path.open("w", encoding="utf-8")
        self._written = 0
        self._started = time.monotonic()
        self._filter = PlaybackFilter()
        header = {
            "version": 2,
            "width": columns,
            "height": lines,
            "timestamp": int(time.time()),
            "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        }
        self._write(json.dumps(header) + "\n")

    def __call__(self, event: Event) -> None:
        if event.type is EventType.TERMINAL_OUTPUT and not self._file.closed:
            text = self._filter.feed(event.data["text"])
            if not text:
                return
            elapsed = round(time.monotonic() - self._started, 6)
            room = max(0, self._options.max_bytes - self._written)
            kept = text[:room]  # at least one byte a character
            line = _output_line(elapsed, kept)
            excess = _utf8_length(line) - room
            if excess <= 0 and len(kept) == len(text):
                self._write(line)
                return
            # Past the limit: what fits of this piece (a piece may be megabytes), then the note, one
            # line past the limit at most. A drawing sequence cut short is ended by the note's ESC.
            if excess > 0:  # removing a character removes at least one byte: then this always fits
                kept = kept[: max(0, len(kept) - excess)]
                line = _output_line(elapsed, kept)
            if kept:
                self._write(line)
            cut_at = self._written
            self._write(_output_line(elapsed, f"\x1b[0m\r\n[termagent] recording cut at {cut_at} bytes\r\n"))
            self._file.close()
            message = (
                f"the recording {self._options.path} was cut at {cut_at} bytes "
                f"(--cast-max-size {self._options.max_bytes}): the terminal's output after that is not recorded"
            )
            self._warn(Event(EventType.WARNING, event.step, {"message": message}))

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()
        self._written += _utf8_length(line)

    def close(self) -> None:
        self._file.close()


def _output_line(elapsed: float, text: str) -> str:
    return json_line([elapsed, "o", text]) + "\n"


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))
