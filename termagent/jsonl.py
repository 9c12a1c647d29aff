"""Reading JSON-lines files (replies, replay records) with errors that name the file and line.
The files may come from anywhere: bytes that are not UTF-8 are an error naming the line, and
unpaired surrogates (legal JSON escapes that no encoding can write) become U+FFFD."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from termagent.errors import TermagentError
from termagent.text_safety import without_lone_surrogates


def read_json_lines(path: str | Path, what: str) -> Iterator[tuple[str, Any]]:
    """Each non-empty line's value, with its place ("path:line") for messages; `what` names
    the file in the error when it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise TermagentError(f"cannot read the {what} {path}: {error.strerror}") from error
    # Only \n ends a line: JSON strings may hold raw U+2028 and the like, which str.splitlines splits at.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TermagentError(f"{path}:{number}: not UTF-8 (byte 0x{raw[error.start]:02x} at column "
                                 f"{error.start + 1})", hint=f"the {what} must be UTF-8 JSON lines") from error
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", without_lone_surrogates(json.loads(line))
        except ValueError as error:
            raise TermagentError(f"{path}:{number}: not a JSON line ({error})") from error

