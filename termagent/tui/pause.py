"""Pause without a hook in the agent: the TUI's event sink runs on the agent's thread, so
holding it when a step starts or just before keystrokes are typed holds the agent there.
Nothing is half-done while paused: a command is either not yet typed or already finished."""

from __future__ import annotations

import threading

from termagent.agent.events import Event, EventType

HOLD_AT = frozenset({EventType.STEP_STARTED, EventType.KEYSTROKES_SENT})


class PauseGate:
    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def hold(self, event: Event) -> None:
        """Called on the agent's thread for every event; waits there while paused."""
        if event.type in HOLD_AT:
            self._running.wait()
