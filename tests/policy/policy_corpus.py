"""The corpora as lists of keystroke strings (one JSON string a line in corpus/)."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"


def read_corpus(name: str) -> list[str]:
    return [json.loads(line) for line in (CORPUS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
