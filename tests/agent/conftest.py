from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def replies_file(tmp_path):
    """Write replies (dicts become pretty JSON, strings stay raw) as a replay file; returns its path."""

    def write(*replies) -> Path:
        path = tmp_path / "replies.jsonl"
        with path.open("w") as handle:
            for reply in replies:
                text = reply if isinstance(reply, str) else json.dumps(reply, indent=2)
                handle.write(json.dumps({"reply": text}) + "\n")
        return path

    return write
