"""The sandbox's disk limit: a watchdog thread measures what the container writes to the host's
disk (its writable layer and the files the engine mounts into it), as the Docker engine reports
it, and stops what is writing when it would go over. It runs even where the storage driver bounds
the layer (overlay2 on xfs with project quotas), which leaves the engine's files out.

The measurement comes from the engine, not from inside the container (whose programs the
sandbox may have replaced). Growth is what gets stopped: a layer already at its limit is left
alone, so that a command removing files is never killed. tmpfs mounts need no watching: the
kernel bounds each by its size, and they are memory, not the host's disk.

A watchdog that measures late (a busy machine: its thread, or the engine, waits for a core)
must not let a writer run on meanwhile. So once a growing layer is past half its limit, the
container is paused (the cgroup freezer) while it is measured and runs only between
measurements: lateness then stretches the pause, not the writing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import threading
import time
from dataclasses import dataclass

import docker

from termagent.sandbox.docker_connect import raw_socket

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# Files the engine keeps in its own directory on the host and bind-mounts into the container,
# writable unless the root file system is read-only: disk the writable layer's size leaves out.
_ENGINE_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")
# The engine answered with an error, or could not be reached (requests' errors are OSErrors).
_ENGINE_ERRORS = (docker.errors.DockerException, OSError)
# Measured every _FAST_POLL to _SLOW_POLL s, the closer to the limit the more often; a writer is
# stopped when, at the rate seen, it would pass the limit within _REACTION s (the time a
# measurement and the stop take).
_FAST_POLL = 0.1
_FROZEN_POLL = 0.02  # the shortest run between measurements once measurements pause the container
_SLOW_POLL = 1.0
_CLOSE_SHARE = 0.5  # a growing layer past this share of the limit is measured paused
_REACTION = 0.5
_MARGIN = 0.1  # stopped this share below the limit: a busy machine may measure late
_ASSUMED_RATE = 2 << 30  # bytes/s a writer may reach before a measurement shows it
_COST_FACTOR = 5  # measuring takes at most a fifth of the engine's time
# Growth past the limit by this share means a stop could not act in time, or did not take: the
# container itself is killed (its processes, the shell included).
_RUNAWAY_SHARE = 0.1
# Run inside the container with the keepalive's pid as $1: kills every process but init, the
# keepalive and processes docker exec'd (parent 0: the shell, this script); those are what a
# command started, in the foreground, in the background or orphaned. `kill -STOP -1` stops them
# all at once (the kernel makes a fork under way fail rather than escape it), so that nothing
# writes or starts a writer while they are looked up. The exec'd ones go on once the killed ones
# are dead (a shell woken earlier would see its command stopped, not killed, and go on with the
# next); a shell that was running (its own loop: builtins write too) or waiting for a killed
# command gets an interrupt, which ends the loop or list it was in. Says what it stopped.
_STOP_WRITERS = r"""
busy=
for dir in /proc/[0-9]*; do
    [ "${dir#/proc/}" = $$ ] && continue
    while read -r key value rest; do
        case $key in
            State:) state=$value ;;
            PPid:) [ "$value" = 0 ] && [ "$state" != S ] && busy="$busy ${dir#/proc/}"; break ;;
        esac
    done < "$dir"/status 2>/dev/null
done
kill -STOP -1 2>/dev/null
pids= parents=
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = 1 ] || [ "$pid" = "$1" ] || [ "$pid" = $$ ] && continue
    while read -r key value; do
        [ "$key" = PPid: ] && { [ "$value" = 0 ] || { pids="$pids $pid"; parents="$parents $value"; }; break; }
    done < "$dir"/status 2>/dev/null
done
[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
for pid in $pids; do
    tries=0
    while [ $tries -lt 500 ] && read -r stat < /proc/"$pid"/stat 2>/dev/null; do
        state=${stat##*) }
        [ "${state%% *}" = Z ] && break
        tries=$((tries + 1))
    done
done
for pid in $busy $parents; do
    [ "$pid" = $$ ] || [ "$pid" = 1 ] || [ "$pid" = "$1" ] || kill -INT "$pid" 2>/dev/null
done
kill -CONT -1 2>/dev/null
echo "stopped:$pids $busy"
"""
# Started with the sandbox and waiting on its stdin, so that a stop costs no exec (which a busy
# machine makes slow, while the writer goes on): a line asks for one, `stopped:PIDS` answers it.
_STOPPER = "echo armed:; while read -r _; do " + _STOP_WRITERS + " done"
_STOPPER_ANSWER = 2.0  # s to wait for the stopper's answer before ending the container
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
    ended: bool = False  # the whole container was stopped: no stop of one command could act in time


class DiskWatch:
    """Measures the container's writable layer in a thread; stops its writers when it grows past
    `allowed` bytes. `take_stop` answers (once) whether it did since it was last asked."""

    def __init__(self, api: docker.APIClient, container_id: str, allowed: int) -> None:
        self._api, self._container_id, self.allowed = api, container_id, allowed
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._pending: LimitStop | None = None
        self._ended: LimitStop | None = None
        self._keepalive_pid = ""
        self._stopper: socket.socket | None = None
        self._stopper_connection: socket.SocketIO | socket.socket | None = None
        self._thread = threading.Thread(target=self._watch_or_end, name="termagent-disk-watch", daemon=True)

    def start(self) -> None:
        # Started before any command ran: init's only child is the keepalive.
        self._keepalive_pid = next(iter(self._exec(_CHILDREN_OF_INIT).split()), "")
        self._arm_stopper()
        self._thread.start()

    def close(self) -> None:
        self._stop_event.set()
        if self._thread.is_alive():
            self._thread.join()
        self._disarm_stopper()

    def take_stop(self) -> LimitStop | None:
        with self._lock:
            stop, self._pending = self._pending, None
        # Once the container is ended, every command's result says why (the one it cut short,
        # and any tried after).
        return stop or self._ended

    def used(self) -> int | None:
        """Bytes the container has written to the host's disk, as the engine counts them (its
        writable layer and the files the engine mounts into it); None when it is gone. The
        engine's errors are raised: a busy engine is no reason to stop watching."""
        found = self._api.containers(all=True, size=True, filters={"id": self._container_id})
        if not found:
            return None
        return int(found[0].get("SizeRw") or 0) + sum(map(self._engine_file_size, _ENGINE_FILES))

    def _look(self, last: int) -> int | None:
        try:
            return self.used()
        except _ENGINE_ERRORS:
            return last  # no answer this time: looked at again at the next one

    def _engine_file_size(self, path: str) -> int:
        # The engine's stat of a path in the container (HEAD of the archive endpoint): its
        # header, not the file, so a large file costs nothing to measure.
        response = self._api.head(
            f"{self._api.base_url}/v{self._api.api_version}/containers/{self._container_id}/archive",
            params={"path": path},
        )
        if response.status_code == 404:
            return 0  # removed by the sandbox: a mount point cannot be, but the file may never have been
        response.raise_for_status()
        return int(json.loads(base64.b64decode(response.headers["X-Docker-Container-Path-Stat"]))["size"])

    def _watch_or_end(self) -> None:
        # A watchdog that cannot watch (an answer of a shape not foreseen) must not leave the
        # sandbox unbounded: the container ends with it.
        try:
            self._watch()
        except Exception:
            self._end(0)
            raise

    def _watch(self) -> None:
        last_used, resumed, rate, cost = self._look(0), time.monotonic(), 0.0, 0.0
        settling = runaway = seen_once = False
        while last_used is not None and not self._stop_event.wait(self._delay(last_used, rate, cost)):
            close = self._close(last_used, rate)
            if not close and not self._stopper_ready():
                self._arm_stopper()  # the sandbox killed it: one more, while there is time
            frozen = close and self._pause()
            stop: LimitStop | None = None
            try:
                ran = time.monotonic() - resumed  # how long the container could write since the last look
                started = time.monotonic()
                used = self._look(last_used)
                cost = time.monotonic() - started
                if used is None:
                    return
                growing = used > last_used
                rate = (used - last_used) / max(ran, 1e-3) if growing else 0.0
                runaway = used > self.allowed * (1 + _RUNAWAY_SHARE)
                if settling:
                    settling = False  # what the stopped writers wrote while being stopped: a new baseline
                elif growing and not runaway and self._would_pass(used, rate) and (frozen or close):
                    # Decided on a paused look, the stopper acts the moment the container goes on:
                    # no writer gets further than measured. Growth seen on two looks in a row, a
                    # moment apart: a writer that ended between two looks (the kernel's bound on
                    # one file stops dd) must not cost the command typed after it its life. (An
                    # engine that cannot pause gets the stop at once.)
                    if seen_once or not frozen:
                        stop = self._record_stop(used)
                        if not self._ask_stopper():
                            runaway = True  # no stopper (the sandbox killed it): the container ends, still paused
                    seen_once = stop is None
                else:
                    seen_once = False
                if runaway:
                    # Space taken faster than a stop can act (fallocate), or a stop that cannot
                    # act: no command gets there by itself, so the container ends, and the run
                    # removes it.
                    self._end(used)
                    return
                last_used = used
            finally:
                if frozen:
                    self._unpause()
                resumed = time.monotonic()
            if stop is not None:
                if not self._finish_stop(stop):
                    self._end(used)
                    return
                settling = True

    def _would_pass(self, used: int, rate: float) -> bool:
        """Whether a writer at `rate` passes the stop point before a stop could act."""
        return used + rate * _REACTION >= self.allowed * (1 - _MARGIN)

    def _close(self, used: int, rate: float) -> bool:
        """Whether the next look pauses the container: it grows, and is past _CLOSE_SHARE or on
        its way past the stop point (a stop is only decided on a paused look)."""
        return rate > 0 and (used >= self.allowed * _CLOSE_SHARE or self._would_pass(used, rate))

    def _delay(self, used: int, rate: float, cost: float) -> float:
        """Until the next measurement: short enough that a writer at the rate seen (at least
        _ASSUMED_RATE) uses at most half the room left meanwhile; never so short that measuring,
        which walks the layer, keeps the engine busy (unless the container waits, paused, for
        the measurement: then it is the container that waits, not the engine)."""
        room = max(self.allowed - used, 0)
        wait = room / max(rate, _ASSUMED_RATE) / 2
        if self._close(used, rate):
            return min(max(wait, _FROZEN_POLL), _SLOW_POLL)
        return min(max(wait, _FAST_POLL, cost * _COST_FACTOR), _SLOW_POLL)

    def _pause(self) -> bool:
        try:
            self._api.pause(self._container_id)
        except _ENGINE_ERRORS:  # not running (any more): measured as it is
            return False
        return True

    def _unpause(self) -> None:
        with contextlib.suppress(*_ENGINE_ERRORS):  # removed meanwhile
            self._api.unpause(self._container_id)

    def _arm_stopper(self) -> None:
        try:
            created = self._api.exec_create(
                self._container_id, ["sh", "-c", _STOPPER, "sh", self._keepalive_pid], stdin=True
            )
            self._stopper_connection = self._api.exec_start(created["Id"], socket=True)
            self._stopper = raw_socket(self._stopper_connection)
        except _ENGINE_ERRORS:
            return  # armed again at the next look; a stop without one ends the container
        if _answer(self._stopper, b"armed:") is None:
            self._disarm_stopper()

    def _stopper_ready(self) -> bool:
        """Whether the stopper still waits: it says nothing between stops, so anything to read
        is its end (or output the sandbox forged into its stream, which disarms it too)."""
        if self._stopper is None:
            return False
        try:
            quiet = not select.select([self._stopper], [], [], 0)[0]
        except (OSError, ValueError):
            quiet = False
        if not quiet:
            self._disarm_stopper()
        return quiet

    def _disarm_stopper(self) -> None:
        if self._stopper is not None:
            with contextlib.suppress(OSError):
                self._stopper.shutdown(socket.SHUT_RDWR)
            self._stopper = None
        if self._stopper_connection is not None:
            with contextlib.suppress(OSError):
                self._stopper_connection.close()
            self._stopper_connection = None

    def _ask_stopper(self) -> bool:
        if self._stopper is None:
            return False
        try:
            self._stopper.sendall(b"stop\n")
        except OSError:
            self._disarm_stopper()
            return False
        return True

    def _finish_stop(self, stop: LimitStop) -> bool:
        """Whether the stopper answered (the sandbox may have killed or stopped it meanwhile). A
        stop that found nothing running is no stop (the writer had ended), and no command is
        told of it."""
        killed = _answer(self._stopper, b"stopped:") if self._stopper is not None else None
        if killed is None:
            self._disarm_stopper()
            return False
        if not killed.split():
            with self._lock:
                if self._pending is stop:
                    self._pending = None
        return True

    def _end(self, used: int) -> None:
        with self._lock:
            self._pending, self._ended = None, LimitStop("disk", used, self.allowed, ended=True)
        try:
            self._api.kill(self._container_id)
        except docker.errors.NotFound:
            return  # removed meanwhile
        except _ENGINE_ERRORS:
            # Not running any more, or an engine that kills no paused container: once more, going.
            self._unpause()
            with contextlib.suppress(*_ENGINE_ERRORS):
                self._api.kill(self._container_id)

    def _record_stop(self, used: int) -> LimitStop:
        # Recorded before acting: the command the stop ends must find it when its result is made.
        with self._lock:
            self._pending = LimitStop("disk", used, self.allowed)
            return self._pending

    def _exec(self, script: str, *args: str) -> str:
        try:
            created = self._api.exec_create(self._container_id, ["sh", "-c", script, "sh", *args])
            return self._api.exec_start(created["Id"]).decode("utf-8", "replace")
        except _ENGINE_ERRORS:
            return ""


def _answer(stopper: socket.socket, word: bytes) -> bytes | None:
    """The rest of the stopper's line that starts with `word`, if it comes within
    _STOPPER_ANSWER s (its output comes in docker's stream frames, each line whole in one)."""
    deadline = time.monotonic() + _STOPPER_ANSWER
    seen = b""
    while word not in seen or not seen.partition(word)[2].count(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stopper], [], [], left)[0]:
            return None
        try:
            chunk = stopper.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        seen = (seen + chunk)[-4096:]
    return seen.partition(word)[2].partition(b"\n")[0]
