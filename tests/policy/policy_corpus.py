"""The corpora as lists of keystroke strings (one JSON string a line in corpus/)."""

from __future__ import annotations

from pathlib import Path

from termagent.jsonl import read_json_lines

CORPUS = Path(__file__).parent / "corpus"


def read_corpus(name: str) -> list[str]:
    return [keystrokes for _, keystrokes in read_json_lines(CORPUS / name, "corpus")]
