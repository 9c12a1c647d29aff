"""One interactive shell in a sandbox container, on a pty (the engine's exec socket).

Keystrokes go in exactly as the model means them; every byte that comes back is fed to a
terminal emulator. The shell integration (shell_integration.bash) tells when a command has
finished, so `run` returns as soon as that happens instead of sleeping the whole duration.

Anything running in the sandbox can print the integration's marks (its token is no secret to
a process in the container), so a prompt mark is believed only when the kernel agrees, read
from outside the shell: the terminal's foreground process group is the shell's own again and
the shell is not waiting for a child. Marks count only after something was typed, and the exit
status and working directory are taken from the marks that come with such a prompt.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import docker

from termagent.errors import SandboxError
from termagent.keys import keystrokes_to_bytes
from termagent.sandbox import MAX_INPUT_BYTES
from termagent.sandbox.disk import LimitStop
from termagent.sandbox.docker_connect import raw_socket
from termagent.sandbox.shell_marks import MarkFilter, ShellMark
from termagent.sandbox.terminal import Observation, ScreenChanges, Terminal, TranscriptMark

_RC_FILE = Path(__file__).with_name("shell_integration.bash")
_FOREGROUND_SCRIPT = Path(__file__).with_name("foreground.sh").read_text(encoding="utf-8")
_BASH_COMMAND = ["bash", "-c", 'exec bash --rcfile <(printf "%s" "$TERMAGENT_RC") -i']
_SH_COMMAND = ["sh", "-i"]
# Keystrokes are written in pieces while the output (the echo) is read, so that neither
# direction fills up and stalls the other.
_WRITE_CHUNK = 16384
# Typing gives up when the other side has taken nothing for this long (a program that does not
# read its input): the result says how much was typed.
_WRITE_STALL = 20.0
# Output is read in large pieces and handed to the terminal together: its fast path for plain
# lines works on a whole backlog at once, and live views get one change per batch. A batch is
# bounded in size, and in time so that `run` sees a stop request soon and keeps to its deadline.
_BATCH_SIZE = 8 << 20
_BATCH_TIME = 0.05
# While output streams in (a large piece, or a batch already large), a batch waits this long
# for more; a short reply (an echo, a prompt) is handed on at once.
_BATCH_WAIT = 0.01
_STREAMING_PIECE = 4096
_STREAMING_BATCH = 65536
# In canonical mode the tty keeps at most this much of one line (N_TTY_BUF_SIZE less the newline).
_CANONICAL_LINE_LIMIT = 4095
_LINE_BREAKS = re.compile(rb"[\r\n]")
# A prompt is the last thing the shell prints: a prompt mark is weighed only after this much
# quiet, so that the marks of the real prompt, when they follow forged ones, are read first.
_PROMPT_SETTLE = 0.02
# At a prompt, text without Enter only echoes: this much silence means it has been drawn.
_ECHO_SETTLE = 0.03
_START_TIMEOUT = 20.0
_STOP_POLL = 0.1
# While a prompt mark waits for the kernel's word, asked again this often even without output: the
# shell may have been caught paused or stopped (the disk watchdog) when the mark came.
_CONFIRM_POLL = 0.05
# Bytes that make a shell at its prompt do something: Enter (CR or LF), Ctrl-C, Ctrl-D.
_SUBMIT_BYTES = frozenset("\r\n\x03\x04")


@dataclass(frozen=True)
class CommandResult:
    keystrokes: str
    finished: bool  # the shell is back at its prompt, waiting for input
    exit_status: int | None
    cwd: str | None
    foreground: str | None  # None at the shell prompt, else the program holding the terminal
    output: str  # what the terminal showed since the keystrokes were sent
    output_is_screen: bool  # the output could not be told apart: `output` is the whole screen
    elapsed: float
    alive: bool = True
    stopped: LimitStop | None = None  # the sandbox stopped what ran: it reached a limit
    refused: str | None = None  # nothing was typed, and why (for the model)
    lost: str | None = None  # the shell ended: what was lost with it (for the model)

    def to_dict(self) -> dict:
        return asdict(self)


class ShellSession:
    def __init__(
        self,
        api: docker.APIClient,
        container_id: str,
        *,
        columns: int = 160,
        lines: int = 40,
        prefer_bash: bool = True,
        max_input_bytes: int = MAX_INPUT_BYTES,
    ) -> None:
        self._api = api
        self._container_id = container_id
        self._columns, self._lines = columns, lines
        self.terminal = Terminal(columns, lines)
        self.shell = "bash" if prefer_bash else "sh"
        self.max_input_bytes = max_input_bytes
        self.warnings: list[str] = []
        # Called with every piece of output (marks removed), for recordings and live views.
        self.on_output: Callable[[str], None] | None = None
        # Set by the container when a watchdog guards a limit: the stop since the last call, if any.
        self.limit_stops: Callable[[], LimitStop | None] | None = None
        self.alive = False
        self.at_prompt = False
        self.cwd: str | None = None
        self.exit_status: int | None = None
        self._prompts_seen = 0
        self._pending_input = False
        self._new_prompt = False
        # True from the start and from each typing until the shell's next prompt: marks that
        # arrive while nothing was typed (printed by a background process) are ignored.
        self._awaiting_prompt = True
        self._shell_pid: str | None = None  # inside the container
        self._host_pid: int | None = None
        # docker-py's exec socket (a SocketIO on a Unix socket); None when no shell runs.
        self._socket: socket.SocketIO | None = None
        # Output is read into this one buffer: a fresh one for each read costs page faults.
        self._batch = memoryview(bytearray(_BATCH_SIZE))

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the shell and wait for its first prompt."""
        if self.shell == "bash" and not self._spawn(_BASH_COMMAND):
            self.warnings.append(
                "the image has no bash: using sh, without shell integration "
                "(no early return, no exit status, no working directory)"
            )
            self.shell = "sh"
        if self.shell == "sh" and not self._spawn(_SH_COMMAND):
            raise SandboxError(
                "the sandbox image has neither bash nor sh.",
                hint="Use an image with bash (the default: `termagent sandbox build`).",
            )

    def restart(self) -> None:
        """A fresh shell in the same container, after the old one died."""
        self.close()
        self.start()

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
        self.alive = False

    def _spawn(self, command: list[str]) -> bool:
        """Exec `command` on a new pty; False when the image lacks the program."""
        self._token = secrets.token_hex(8)
        self._marks = MarkFilter(self._token)
        self._prompts_seen = 0
        self.at_prompt = False
        self._awaiting_prompt = True
        self._marked_status: int | None = None
        self._marked_cwd: str | None = None
        self._prompt_candidate = False
        self._shell_pid = self._host_pid = None
        environment = {"TERMAGENT_MARK_TOKEN": self._token, "TERMAGENT_RC": _RC_FILE.read_text(encoding="utf-8")}
        if command is _SH_COMMAND:
            environment = {"PS1": "# "}
        try:
            self._exec_id = self._api.exec_create(
                self._container_id, command, stdin=True, tty=True, environment=environment
            )["Id"]
            connection = self._api.exec_start(self._exec_id, socket=True, tty=True)
            self._socket = connection
            self._fd = raw_socket(connection).fileno()
        except docker.errors.APIError as error:
            raise SandboxError(f"could not start a shell in the sandbox: {error.explanation or error}") from error
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.alive = True
        with contextlib.suppress(docker.errors.APIError):
            # The program may have exited already (not in the image): the output below says so.
            self.resize(self._columns, self._lines)
        first_output = self._wait_for_first_prompt()
        if not self.alive:
            if "executable file not found" in first_output or "no such file" in first_output.lower():
                return False
            raise SandboxError(f"the sandbox shell exited at once: {first_output.strip()[:500]}")
        return True

    def _wait_for_first_prompt(self) -> str:
        deadline = time.monotonic() + _START_TIMEOUT
        seen: list[str] = []
        while self.alive and time.monotonic() < deadline:
            if self.shell == "bash" and self._prompts_seen:
                return ""
            text = self._pump(min(0.2, deadline - time.monotonic()), collect=seen)
            if self.shell == "sh" and text is None and seen:
                self.at_prompt = True  # no marks from sh: a quiet moment after output is the prompt
                return ""
        if self.alive:
            raise SandboxError(f"the sandbox shell did not show a prompt within {_START_TIMEOUT:.0f} s.")
        return "".join(seen)

    # -- reading ---------------------------------------------------------------------------

    def _pump(self, timeout: float, collect: list[str] | None = None) -> str | None:
        """Read what arrives within `timeout` (all that is waiting, up to a batch), feed it to
        the terminal; None when nothing came."""
        data = self._read(timeout)
        text = None
        if data:
            text, marks = self._marks.feed(self._decoder.decode(data))
            if text:
                self.terminal.feed(text)
                if self.on_output is not None:
                    self.on_output(text)
                if collect is not None:
                    collect.append(text)
            for mark in marks:
                self._apply(mark)
        if self._prompt_candidate and self.alive and not self._more_output_within(_PROMPT_SETTLE):
            self._confirm_prompt()
        return text

    def _more_output_within(self, seconds: float) -> bool:
        try:
            return bool(select.select([self._fd], [], [], seconds)[0])
        except (OSError, ValueError):
            return False

    def _read(self, timeout: float) -> memoryview:
        """What the shell wrote, waiting up to `timeout` for the first byte; empty when nothing.
        The view is valid until the next read."""
        size, wait = 0, max(timeout, 0)
        handed_on: float | None = None  # when the batch goes to the terminal, at the latest
        while size < _BATCH_SIZE:
            try:
                if not select.select([self._fd], [], [], wait)[0]:
                    break
                read = os.readv(self._fd, [self._batch[size:]])
            except BlockingIOError:
                break
            except (OSError, ValueError):
                read = 0
            if not read:  # the exec stream ended: the shell is gone
                self.alive = False
                self.at_prompt = False
                break
            size += read
            now = time.monotonic()
            handed_on = handed_on or now + _BATCH_TIME
            if now >= handed_on:
                break
            streaming = read >= _STREAMING_PIECE or size >= _STREAMING_BATCH
            wait = min(_BATCH_WAIT, handed_on - now) if streaming else 0
        return self._batch[:size]

    def _apply(self, mark: ShellMark) -> None:
        if mark.kind == "P" and mark.fields and self._prompts_seen == 0:
            self._shell_pid = mark.fields[0]  # printed once, before the first prompt
        if not self._awaiting_prompt:
            return  # nothing was typed: not the shell's doing
        if mark.kind == "C":
            self.at_prompt = self._prompt_candidate = False
        elif mark.kind == "D" and len(mark.fields) >= 2:
            self._marked_status = int(mark.fields[0]) if mark.fields[0].isdigit() else None
            self._pending_input = mark.fields[1] == "1"
            self._new_prompt = True
            self._prompt_candidate = False
        elif mark.kind == "B":
            # Only the first drawing of a new prompt counts: readline redraws it (and so repeats
            # the mark) on a window resize or C-l without anything having run.
            if self._new_prompt and not self._pending_input:
                self._prompt_candidate = True
        elif mark.kind == "cwd" and mark.fields:
            self._marked_cwd = mark.fields[0]

    def _confirm_prompt(self) -> None:
        """Believe the last prompt mark if the kernel says the shell waits for input now. Asked
        once the output has been quiet for _PROMPT_SETTLE, so that the marks of a prompt that
        really came supersede any printed before them (the last status and directory win);
        asked again after each read until a new mark replaces the candidate."""
        if self._shell_waits_for_input():
            self._prompt_candidate = self._new_prompt = self._awaiting_prompt = False
            self.at_prompt = True
            self._prompts_seen += 1
            self.exit_status = self._marked_status
            self.cwd = self._marked_cwd or self.cwd

    def _drain(self, budget: float = 0.05) -> None:
        """Take in what has already arrived; bounded, since a flood (`yes`) never runs dry."""
        deadline = time.monotonic() + budget
        while self.alive and time.monotonic() < deadline and self._pump(0) is not None:
            pass

    # -- writing ---------------------------------------------------------------------------

    def _write(self, data: bytes) -> int:
        """Type `data` while reading what comes back; returns how many bytes were typed (fewer
        when the shell ended, or took nothing for _WRITE_STALL seconds)."""
        self._awaiting_prompt = self._awaiting_prompt or bool(data)
        written = 0
        last_progress = time.monotonic()
        while written < len(data) and self.alive:
            try:
                readable, writable, _ = select.select([self._fd], [self._fd], [], 1.0)
            except (OSError, ValueError):
                self.alive = False
                break
            if readable:
                self._pump(0)
            if writable and self.alive:
                try:
                    written += os.write(self._fd, data[written : written + _WRITE_CHUNK])
                    last_progress = time.monotonic()
                except BlockingIOError:
                    pass
                except OSError:
                    self.alive = False
            if time.monotonic() - last_progress > _WRITE_STALL:
                break
        self._drain()
        return written

    # -- the agent's interface -------------------------------------------------------------

    def mark(self) -> TranscriptMark:
        return self.terminal.screen.mark()

    def output_since(self, mark: TranscriptMark) -> Observation:
        return self.terminal.screen.output_since(mark)

    def run(
        self, keystrokes: str, duration: float = 1.0, *, should_stop: Callable[[], bool] | None = None
    ) -> CommandResult:
        """Send one command's keystrokes, wait at most `duration` seconds, report what happened.
        `should_stop` is polled while waiting: when it answers True the wait ends early."""
        started = time.monotonic()
        if not self.alive:
            return self._result(keystrokes, started, self.mark())
        mark = self.mark()
        text = keystrokes_to_bytes(keystrokes)
        data = text.encode("utf-8", "surrogateescape")
        if len(data) > self.max_input_bytes:
            return self._result(
                keystrokes,
                started,
                mark,
                refused=(
                    f"[termagent] Nothing was typed: these keystrokes are {len(data):,} bytes, more than the sandbox "
                    f"takes in one command ({self.max_input_bytes:,} bytes). Send the text in several smaller parts "
                    "(for example, append to a file with several here-documents)."
                ),
            )
        longest = max(map(len, _LINE_BREAKS.split(data)))
        if longest > _CANONICAL_LINE_LIMIT and not self.at_prompt and self._terminal_reads_lines():
            return self._result(
                keystrokes,
                started,
                mark,
                refused=(
                    f"[termagent] Nothing was typed: a line of these keystrokes is {longest:,} bytes, and the program "
                    "in the terminal reads whole lines, of which the terminal keeps at most "
                    f"{_CANONICAL_LINE_LIMIT:,} bytes (the rest would be lost). Write long lines with a here-document "
                    "at the shell prompt, or in shorter lines."
                ),
            )
        was_at_prompt = self.at_prompt
        only_echoes = was_at_prompt and not _SUBMIT_BYTES.intersection(text)
        prompts_before = self._prompts_seen
        typed = self._write(data)
        if typed < len(data):
            return self._result(keystrokes, started, mark, lost=self._what_was_lost(typed, len(data)))
        deadline = started + max(duration, 0.0)
        while self.alive:
            if self.at_prompt and self._prompts_seen > prompts_before and self.shell == "bash":
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (should_stop is not None and should_stop()):
                break
            if should_stop is not None:
                remaining = min(remaining, _STOP_POLL)
            if self._prompt_candidate:
                remaining = min(remaining, _CONFIRM_POLL)
            if only_echoes:
                if self._pump(min(_ECHO_SETTLE, remaining)) is None:
                    break
            else:
                self._pump(remaining)
        self._drain()
        return self._result(keystrokes, started, mark, lost=None if self.alive else self._what_was_lost())

    def _what_was_lost(self, typed: int | None = None, total: int | None = None) -> str:
        if typed is None or total is None:
            return (
                "[termagent] The shell ended while this command ran: its working directory, variables and "
                "the programs it had started are gone."
            )
        if not self.alive:
            return (
                f"[termagent] The shell ended while the keystrokes were being typed: {typed:,} of {total:,} "
                "bytes were typed, the rest was not. Its working directory, variables and the programs "
                "it had started are gone."
            )
        return (
            f"[termagent] Only {typed:,} of {total:,} bytes were typed: the program in the terminal took no "
            f"input for {_WRITE_STALL:.0f} s, and the rest was not typed."
        )

    def _result(
        self,
        keystrokes: str,
        started: float,
        mark: TranscriptMark,
        *,
        refused: str | None = None,
        lost: str | None = None,
    ) -> CommandResult:
        observation = self.terminal.screen.output_since(mark)
        finished = self.alive and self.at_prompt
        return CommandResult(
            keystrokes=keystrokes,
            finished=finished,
            exit_status=self.exit_status if finished else None,
            cwd=self.cwd,
            foreground=None if finished or not self.alive else self.foreground(),
            output=observation.text,
            output_is_screen=observation.is_full_screen,
            elapsed=round(time.monotonic() - started, 4),
            alive=self.alive,
            stopped=self.limit_stops() if self.limit_stops is not None else None,
            refused=refused,
            lost=lost,
        )

    def fileno(self) -> int:
        """The shell's pty stream, for connecting a person's terminal to it directly."""
        return self._fd

    def resize(self, columns: int, lines: int) -> None:
        self._api.exec_resize(self._exec_id, height=lines, width=columns)

    def screen_text(self) -> str:
        return self.terminal.screen.text()

    def screen_changes(self, everything: bool = False) -> ScreenChanges:
        """What changed on the screen since the last call (all rows with `everything`): what a
        live view needs to draw it without an emulator of its own."""
        return self.terminal.changes(everything)

    def redraw_text(self) -> str:
        return self.terminal.screen.redraw_text()

    def foreground(self) -> str | None:
        """The name of the program holding the terminal, None when the shell waits at its prompt."""
        if self.at_prompt:
            return None
        name = self._foreground_from_host() or self._foreground_from_container()
        return name or self.shell

    def _foreground_from_host(self) -> str | None:
        # Fast path when the engine runs on this machine: the host sees the container's processes.
        pid = self._host_shell_pid()
        if pid is None:
            return None
        try:
            shell_group, _, foreground_group = _proc_groups(pid)
            if foreground_group == shell_group:
                return self.shell
            children = _read_proc(pid, f"task/{pid}/children").split()
            in_group = [child for child in children if _proc_groups(child)[0] == foreground_group]
            return _read_proc(in_group[-1] if in_group else foreground_group, "comm")
        except (OSError, IndexError, ValueError):
            return None

    def _terminal_reads_lines(self) -> bool:
        """Whether the terminal is in canonical mode now (the program reads whole lines, which
        the kernel cuts at 4095 bytes); readline, vim and the like switch it off."""
        if not self._shell_pid:
            return False
        settings = self._exec(["sh", "-c", 'stty -a < /proc/"$1"/fd/0', "sh", self._shell_pid])
        return re.search(r"(^|\s)icanon(\s|$)", settings) is not None

    def _foreground_in_container(self) -> tuple[str, str, str, str] | None:
        """(foreground group, shell group, where the shell sleeps, program name), as seen inside
        the container (when the engine runs elsewhere and the host has no view of its processes)."""
        if not self._shell_pid:
            return None
        fields = self._exec(["sh", "-c", _FOREGROUND_SCRIPT, "sh", self._shell_pid]).split(maxsplit=3)
        return (fields[0], fields[1], fields[2], fields[3]) if len(fields) == 4 else None

    def _foreground_from_container(self) -> str | None:
        found = self._foreground_in_container()
        return found[3] if found else None

    def _shell_waits_for_input(self) -> bool:
        """The kernel's word, read from outside the shell, that the shell has the terminal (its
        process group is the terminal's foreground group), is asleep (not running a builtin)
        and waits for no child (a program can hand the terminal back with tcsetpgrp and go on
        running). Fails closed."""
        state = self._shell_state_from_host()
        if state is None:
            found = self._foreground_in_container()
            state = (found[0] == found[1], "S", found[2]) if found else None
        return state is not None and state[0] and state[1] == "S" and state[2] != "do_wait"

    def _shell_state_from_host(self) -> tuple[bool, str, str] | None:
        pid = self._host_shell_pid()
        if pid is None:
            return None
        try:
            run_state = _read_proc(pid, "stat").rsplit(")", 1)[1].split()[0]
            shell_group, _, foreground_group = _proc_groups(pid)
            # "0" when the kernel does not show it to this user: the other checks stand alone.
            return shell_group == foreground_group, run_state, _read_proc(pid, "wchan")
        except (OSError, IndexError, ValueError):
            return None

    def _host_shell_pid(self) -> int | None:
        """The shell's pid as the host sees it, while that process is still the shell (a pid
        can be taken by another program once the shell ends)."""
        pid = self._local_shell_pid()
        if pid is None:
            return None
        try:
            return pid if _read_proc(pid, "comm") == self.shell else None
        except OSError:
            return None

    def _local_shell_pid(self) -> int | None:
        """The shell's pid on this machine, when the engine runs here: the process the engine
        names must be in the container's cgroup (else the engine is elsewhere, and a local
        process with that number is someone else's)."""
        if self._host_pid is None:
            try:
                pid = self._api.exec_inspect(self._exec_id).get("Pid")
            except docker.errors.APIError:
                return None
            if not pid:
                return None  # not started yet: asked again next time
            try:
                ours = self._container_id in _read_proc(pid, "cgroup")
            except OSError:
                ours = False
            self._host_pid = pid if ours else 0
        return self._host_pid or None

    def _exec(self, command: list[str]) -> str:
        try:
            result = self._api.exec_create(self._container_id, command)
            return self._api.exec_start(result["Id"]).decode("utf-8", "replace").strip()
        except docker.errors.APIError:
            return ""

    def interrupt(self, grace: float = 1.0) -> CommandResult:
        """Stop the foreground program: C-c, C-c again, then kill its process group."""
        started = time.monotonic()
        mark = self.mark()
        for _ in range(2):
            if self.run("C-c", grace).finished:
                return self._result("C-c", started, mark)
        found = self._foreground_in_container()
        if found and found[0] != found[1]:
            self._exec(["sh", "-c", 'kill -9 -"$1"', "sh", found[0]])
        self.run("", grace)
        return self._result("C-c", started, mark)


def _read_proc(pid: int | str, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text().strip()


def _proc_groups(pid: int | str) -> tuple[str, str, str]:
    """(process group, session, terminal's foreground group) of `pid`, from /proc/PID/stat."""
    fields = _read_proc(pid, "stat").rsplit(")", 1)[1].split()
    return fields[2], fields[3], fields[5]
