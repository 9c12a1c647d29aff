"""Reading JSON-lines files (replies, replay records, trajectories, per-step results, keystrokes
to judge) with errors that name the file and line. Every JSON-lines reader of termagent is this
one. The files may come from anywhere: bytes that are not UTF-8 are an error naming the line,
and unpaired surrogates (legal JSON escapes that no encoding can write) become U+FFFD.

One tolerance rule, asked for explicitly: a file that is appended to one flushed line at a time
(a trajectory, `eval replay`'s per-step file) may end in a line cut mid-write when its writer was
killed. A reader that expects this passes `on_cut_end`: such a last line is then left out and
reported to it. Anything else damaged is an error."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from termagent.errors import ConfigurationError
from termagent.text_safety import without_lone_surrogates

STDIN = "-"


def read_json_lines(
    path: str | Path, what: str, *, each: str = "a JSON line", on_cut_end: Callable[[int], None] | None = None
) -> Iterator[tuple[str, Any]]:
    """Each non-empty line's value of the file `path` ("-": standard input), with its place
    ("path:line") for messages. `what` names the file in errors, `each` what a line should be;
    `on_cut_end(line number)` hears of a last line cut mid-write (without it, that is an error)."""
    if str(path) == STDIN:
        yield from json_lines(sys.stdin.buffer, STDIN, what, each=each, on_cut_end=on_cut_end)
        return
    with _open(Path(path), what) as stream:
        yield from json_lines(stream, str(path), what, each=each, on_cut_end=on_cut_end)


def json_lines(
    lines: Iterable[bytes],
    source: str,
    what: str,
    *,
    each: str = "a JSON line",
    on_cut_end: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, Any]]:
    """`read_json_lines` over lines of bytes already open (a binary file splits only at \\n:
    JSON strings may hold raw U+2028 and the like, which str.splitlines would split at)."""
    damaged: tuple[ConfigurationError, int] | None = None  # the last line read, if it could not be
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if damaged is not None:
            raise damaged[0]  # a damaged line with more after it was not cut by a kill
        try:
            value = _value(raw, f"{source}:{number}", what, each)
        except ConfigurationError as error:
            if on_cut_end is None:
                raise
            damaged = error, number
            continue
        yield f"{source}:{number}", value
    if damaged is not None and on_cut_end is not None:
        on_cut_end(damaged[1])


def _open(path: Path, what: str) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as error:
        raise ConfigurationError(
            f"cannot read the {what} {path}: {error.strerror}", hint=f"check the path given for the {what}"
        ) from error


def _value(raw: bytes, place: str, what: str, each: str) -> Any:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{place}: not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})",
            hint=f"the {what} must be UTF-8 JSON lines",
        ) from error
    try:
        return without_lone_surrogates(json.loads(line))
    except ValueError as error:
        raise ConfigurationError(f"{place}: not {each} ({error})", hint=f"the {what} is damaged") from error
