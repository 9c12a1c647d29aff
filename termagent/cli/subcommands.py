"""What a subcommand module's `register()` is given: the one method of argparse's subparsers
object it uses (argparse names that object's class only privately)."""

from __future__ import annotations

import argparse
from typing import Any, Protocol


class Subcommands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...
