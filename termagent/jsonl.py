"""Reading JSON-lines files (replies, replay records) with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from termagent.errors import TermagentError


def read_json_lines(path: str | Path, what: str) -> Iterator[tuple[str, Any]]:
    """Each non-empty line's value, with its place ("path:line") for messages; `what` names
    the file in the error when it cannot be read."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TermagentError(f"cannot read the {what} {path}: {error.strerror}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{number}", json.loads(line)
        except ValueError as error:
            raise TermagentError(f"{path}:{number}: not a JSON line ({error})") from error
