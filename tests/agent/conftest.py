from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "model"))  # the tiny model builder lives there

from tiny_gemma import build_tiny_gemma  # noqa: E402

TERMAGENT = str(Path(sys.executable).with_name("termagent"))
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    torch.set_num_threads(1)
    return build_tiny_gemma(tmp_path_factory.mktemp("tiny-gemma4-agent"))


def action(commands=(), complete=False, analysis="looking at the screen", plan="next step") -> dict:
    return {"analysis": analysis, "plan": plan, "task_complete": complete,
            "commands": [{"keystrokes": k, "duration": d} for k, d in commands]}


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
