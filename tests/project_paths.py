"""Paths the tests share: the installed `termagent` command and the shipped examples."""

import sys
from pathlib import Path

TERMAGENT = str(Path(sys.executable).with_name("termagent"))
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
