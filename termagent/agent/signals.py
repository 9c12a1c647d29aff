"""Signals during a run on the main thread: Ctrl-C (SIGINT), SIGTERM, and SIGHUP (the person's
terminal closed).

With a person at the terminal, Ctrl-C is counted per command: a press interrupts the command
running in the sandbox; a second press for the same command (none typed since), or close
behind the first, ends the run. Otherwise (batch workers; Ray cancels a task with SIGINT) it
ends the run at once, as SIGTERM and SIGHUP always do.

Ending raises RunEnded (a KeyboardInterrupt) in the main thread, so the loop records
`run_finished` and the runner removes the sandbox and the workspace staging on the way out;
but only while armed: a signal during that clean-up is recorded, never raised into it, and one
while the sandbox is being created is raised once it has been (`deferred`)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

# Keyed by number: a handler is given the signal as an int.
ENDING_SIGNALS: dict[int, str] = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (the terminal was closed)"}
# Two Ctrl-C presses this close together end the run even if a new command started between them.
DOUBLE_PRESS_SECONDS = 1.0


class RunEnded(KeyboardInterrupt):
    """Raised in the main thread to end the run; a KeyboardInterrupt, so it unwinds (and is
    recorded) the way Ctrl-C always has."""


class Interruptible(Protocol):
    """What a press of Ctrl-C needs of the agent (termagent.agent.loop.Agent)."""

    @property
    def commands_sent(self) -> int: ...

    def request_interrupt(self) -> None: ...


def _terminal_fds() -> list[int]:
    return [fd for fd in (0, 1, 2) if os.isatty(fd)]


def _detach(fds: list[int]) -> None:
    """The terminal is gone: reads from it never come and writes fail (EIO), so whatever is still
    said on the way out goes to /dev/null instead of raising."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        os.dup2(null, fd)
    os.close(null)


class RunSignals:
    def __init__(self, ctrl_c_interrupts: bool = False) -> None:
        self.ctrl_c_interrupts = ctrl_c_interrupts
        self.agent: Interruptible | None = None
        self.ended: str | None = None  # why, once the run is to end
        self._armed = False
        self._last_press: tuple[float, int] | None = None  # (when, the agent's command count then)
        self._terminal = _terminal_fds()  # asked now: after a hang-up the answer is unreliable

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """The part of the run that ending may cut short (not the clean-up after it)."""
        if self.ended:
            raise RunEnded(self.ended)
        self._armed = True
        try:
            yield
        finally:
            self._armed = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A part of the armed run that a signal must not cut in the middle: the sandbox being
        created, whose container the engine may have made before the client knows its id (cut
        there, nothing could remove it); the changes the person approved being applied (cut
        there, half of them would be). A signal meanwhile ends the run as soon as it is done."""
        armed, self._armed = self._armed, False
        try:
            yield
        finally:
            if armed and self.ended:
                raise RunEnded(self.ended)  # noqa: B012 (the signal's end wins over the part's own error)
            self._armed = armed

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            if self._armed:
                self._armed = False  # raised once: a later signal cannot cut the clean-up short
                raise RunEnded(reason)

    def on_ending_signal(self, signum: int, frame=None) -> None:
        if signum == signal.SIGHUP:
            _detach(self._terminal)
        self.end(f"ended by {ENDING_SIGNALS[signum]}")

    def on_sigint(self, signum: int, frame=None) -> None:
        if not self.ctrl_c_interrupts:
            self.end("interrupted (SIGINT)")
            return
        now, agent = time.monotonic(), self.agent
        again = self._last_press is not None and (
            now - self._last_press[0] < DOUBLE_PRESS_SECONDS
            or (agent is not None and agent.commands_sent == self._last_press[1])
        )
        if agent is None or again or self.ended:
            self.end("stopped by the person (Ctrl-C twice)")
            return
        self._last_press = (now, agent.commands_sent)
        print("\ntermagent: interrupting the running command (Ctrl-C again stops the agent)", file=sys.stderr)
        agent.request_interrupt()


@contextlib.contextmanager
def _handling(handlers: dict[int, Callable]) -> Iterator[None]:
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def run_signals(ctrl_c_interrupts: bool = False) -> Iterator[RunSignals]:
    """Handle SIGINT, SIGTERM and SIGHUP while inside (on the main thread; elsewhere the
    handlers stay as they are, since signals are delivered to the main thread)."""
    signals = RunSignals(ctrl_c_interrupts)
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return
    with _handling({signal.SIGINT: signals.on_sigint, **dict.fromkeys(ENDING_SIGNALS, signals.on_ending_signal)}):
        yield signals


@contextlib.contextmanager
def ending_signals_call(on_signal: Callable[[int], None]) -> Iterator[None]:
    """For a run on another thread (the TUI's): SIGTERM and SIGHUP call `on_signal(signum)` in
    the main thread (after detaching from a closed terminal) instead of raising."""
    terminal = _terminal_fds()

    def handler(signum, frame) -> None:
        if signum == signal.SIGHUP:
            _detach(terminal)
        on_signal(signum)

    with _handling(dict.fromkeys(ENDING_SIGNALS, handler)):
        yield
