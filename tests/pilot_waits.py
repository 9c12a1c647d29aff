"""Waiting for a Textual app to reach a state, shared by the TUI and workspace dialog tests."""

from __future__ import annotations

import time
from collections.abc import Callable


async def until(pilot, condition: Callable[[], bool], seconds: float = 240) -> None:
    """Wait for `condition`, with a generous limit: a busy machine is only slower."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            code = condition.__code__
            raise AssertionError(
                f"the app never reached the state of {code.co_filename}:{code.co_firstlineno} within {seconds} s"
            )
        await pilot.pause(0.02)
