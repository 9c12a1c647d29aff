"""The sandbox's disk limit, where the storage driver cannot enforce one (overlay2 can only on
xfs with project quotas): a watchdog thread measures the container's writable layer, as the
Docker engine reports it, and stops what is writing when it would go over.

The measurement comes from the engine, not from inside the container (whose programs the
sandbox may have replaced). Growth is what gets stopped: a layer already at its limit is left
alone, so that a command removing files is never killed. tmpfs mounts need no watching: the
kernel bounds each by its size, and they are memory, not the host's disk.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import docker

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# The engine answered with an error, or could not be reached (requests' errors are OSErrors).
_ENGINE_ERRORS = (docker.errors.DockerException, OSError)
# Measured every _FAST_POLL to _SLOW_POLL s, the closer to the limit the more often; a writer is
# stopped when, at the rate seen, it would pass the limit within _REACTION s (the time a
# measurement and the stop take).
_FAST_POLL = 0.1
_SLOW_POLL = 1.0
_REACTION = 0.5
_MARGIN = 0.1  # stopped this share below the limit: a busy machine may measure late
_ASSUMED_RATE = 2 << 30  # bytes/s a writer may reach before a measurement shows it
_COST_FACTOR = 5  # measuring takes at most a fifth of the engine's time
# Growth past the limit by this share means a stop could not act in time, or did not take: the
# container itself is killed (its processes, the shell included).
_RUNAWAY_SHARE = 0.1
# Run inside the container with the keepalive's pid as $1: kills every process but init, the
# keepalive and processes docker exec'd (parent 0: the shell, this script); those are what a
# command started, in the foreground, in the background or orphaned. All are stopped before
# any is killed, so that a loop cannot start a new writer in between; rounds catch a fork.
_STOP_WRITERS = r"""
for round in 1 2 3; do
    pids=
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ "$pid" = 1 ] || [ "$pid" = "$1" ] || [ "$pid" = $$ ] && continue
        while read -r key value; do
            [ "$key" = PPid: ] && { [ "$value" = 0 ] || pids="$pids $pid"; break; }
        done < "$dir"/status 2>/dev/null
    done
    [ -n "$pids" ] || break
    kill -STOP $pids 2>/dev/null
    kill -KILL $pids 2>/dev/null
done
"""
_CHILDREN_OF_INIT = r"""
for dir in /proc/[0-9]*; do
    while read -r key value; do
        [ "$key" = PPid: ] && { [ "$value" = 1 ] && echo "${dir#/proc/}"; break; }
    done < "$dir"/status 2>/dev/null
done
"""


def file_size_cap(allowed: int) -> int:
    """The largest file the sandbox may write (RLIMIT_FSIZE, enforced by the kernel): between the
    watchdog's stop point and the limit, so that a single writer the watchdog measures too late
    (a busy machine) still cannot take more than the limit, and one `fallocate` cannot reserve it."""
    return int(allowed * (1 - _MARGIN / 2))


def parse_size(text: str) -> int:
    """Bytes in a profile size ("4g", "512m", "100k", "1000"), binary units."""
    unit = text[-1].lower() if text[-1].isalpha() else ""
    return int(text[: len(text) - len(unit)]) * _UNITS[unit]


@dataclass(frozen=True)
class LimitStop:
    """The sandbox stopped what was running because it reached a limit."""

    limit: str  # which one: "disk"
    used: int  # bytes when it was stopped
    allowed: int  # bytes


class DiskWatch:
    """Measures the container's writable layer in a thread; stops its writers when it grows past
    `allowed` bytes. `take_stop` answers (once) whether it did since it was last asked."""

    def __init__(self, api: docker.APIClient, container_id: str, allowed: int) -> None:
        self._api, self._container_id, self.allowed = api, container_id, allowed
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._pending: LimitStop | None = None
        self._keepalive_pid = ""
        self._thread = threading.Thread(target=self._watch, name="termagent-disk-watch", daemon=True)

    def start(self) -> None:
        # Started before any command ran: init's only child is the keepalive.
        self._keepalive_pid = next(iter(self._exec(_CHILDREN_OF_INIT).split()), "")
        self._thread.start()

    def close(self) -> None:
        self._stop_event.set()
        if self._thread.is_alive():
            self._thread.join()

    def take_stop(self) -> LimitStop | None:
        with self._lock:
            stop, self._pending = self._pending, None
        return stop

    def used(self) -> int | None:
        """The writable layer's size in bytes, as the engine counts it; None when it is gone."""
        try:
            found = self._api.containers(all=True, size=True, filters={"id": self._container_id})
        except _ENGINE_ERRORS:
            return None
        return int(found[0].get("SizeRw") or 0) if found else None

    def _watch(self) -> None:
        last_used, last_time, rate, cost = self.used(), time.monotonic(), 0.0, 0.0
        settling = False
        while last_used is not None and not self._stop_event.wait(self._delay(last_used, rate, cost)):
            started = time.monotonic()
            used, now = self.used(), time.monotonic()
            cost = now - started
            if used is None:
                return
            growing = used > last_used
            rate = (used - last_used) / max(now - last_time, 1e-3) if growing else 0.0
            if growing and used > self.allowed * (1 + _RUNAWAY_SHARE):
                # Space taken faster than a stop can act (fallocate), or a stop that did not take
                # (the sandbox replaced sh): the container ends, so the run ends and removes it.
                self._record_stop(used)
                with contextlib.suppress(*_ENGINE_ERRORS):  # it may have ended on its own meanwhile
                    self._api.kill(self._container_id)
                return
            if settling:
                settling = False  # what the stopped writers wrote while being stopped: a new baseline
            elif growing and used + rate * _REACTION >= self.allowed * (1 - _MARGIN):
                # Measured once more: a writer that has already ended (the kernel's bound on one
                # file stops it too) must not cost the command that runs now its life.
                again = self.used()
                if again is None:
                    return
                if again > used:
                    self._record_stop(again)
                    self._exec(_STOP_WRITERS, self._keepalive_pid)
                    settling = True
                used, now = again, time.monotonic()
            last_used, last_time = used, now

    def _delay(self, used: int, rate: float, cost: float) -> float:
        """Until the next measurement: short enough that a writer at the rate seen (at least
        _ASSUMED_RATE) uses at most half the room left meanwhile; never so short that measuring,
        which walks the layer, keeps the engine busy."""
        room = max(self.allowed - used, 0)
        wait = room / max(rate, _ASSUMED_RATE) / 2
        return min(max(wait, _FAST_POLL, cost * _COST_FACTOR), _SLOW_POLL)

    def _record_stop(self, used: int) -> None:
        # Recorded before acting: the command the stop ends must find it when its result is made.
        with self._lock:
            self._pending = LimitStop("disk", used, self.allowed)

    def _exec(self, script: str, *args: str) -> str:
        try:
            created = self._api.exec_create(self._container_id, ["sh", "-c", script, "sh", *args])
            return self._api.exec_start(created["Id"]).decode("utf-8", "replace")
        except _ENGINE_ERRORS:
            return ""
