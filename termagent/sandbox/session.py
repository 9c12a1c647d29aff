"""One interactive shell in a sandbox container, on a pty, driven with pexpect.

Keystrokes go in exactly as the model means them; every byte that comes back is fed to a
terminal emulator. The shell integration (shell_integration.bash) tells when a command has
finished, so `run` returns as soon as that happens instead of sleeping the whole duration.
"""

from __future__ import annotations

import codecs
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
import pexpect
from pexpect import fdpexpect

from termagent.errors import TermagentError
from termagent.keys import keystrokes_to_bytes
from termagent.sandbox.disk import LimitStop
from termagent.sandbox.shell_marks import MarkFilter, ShellMark
from termagent.sandbox.terminal import Observation, Terminal, TranscriptMark

_RC_FILE = Path(__file__).with_name("shell_integration.bash")
_FOREGROUND_SCRIPT = Path(__file__).with_name("foreground.sh").read_text(encoding="utf-8")
_BASH_COMMAND = ["bash", "-c", 'exec bash --rcfile <(printf "%s" "$TERMAGENT_RC") -i']
_SH_COMMAND = ["sh", "-i"]
# Larger writes are cut into pieces, and the echo read back between them, so that neither
# the tty's input queue nor the echo path fills up and stalls.
_WRITE_CHUNK = 1024
# At a prompt, text without Enter only echoes: this much silence means it has been drawn.
_ECHO_SETTLE = 0.03
_START_TIMEOUT = 20.0
_STOP_POLL = 0.1
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

    def to_dict(self) -> dict:
        return asdict(self)


class ShellSession:
    def __init__(self, api: docker.APIClient, container_id: str, *, columns: int = 160, lines: int = 40,
                 prefer_bash: bool = True) -> None:
        self._api = api
        self._container_id = container_id
        self._columns, self._lines = columns, lines
        self.terminal = Terminal(columns, lines)
        self.shell = "bash" if prefer_bash else "sh"
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
        self._shell_pid: str | None = None  # inside the container
        self._host_pid: int | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the shell and wait for its first prompt."""
        if self.shell == "bash" and not self._spawn(_BASH_COMMAND):
            self.warnings.append("the image has no bash: using sh, without shell integration "
                                 "(no early return, no exit status, no working directory)")
            self.shell = "sh"
        if self.shell == "sh" and not self._spawn(_SH_COMMAND):
            raise TermagentError("the sandbox image has neither bash nor sh.",
                                 hint="Use an image with bash (the default: `termagent sandbox build`).")

    def restart(self) -> None:
        """A fresh shell in the same container, after the old one died."""
        self.close()
        self.start()

    def close(self) -> None:
        if getattr(self, "_child", None) is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._child = None
        self.alive = False

    def _spawn(self, command: list[str]) -> bool:
        """Exec `command` on a new pty; False when the image lacks the program."""
        self._token = secrets.token_hex(8)
        self._marks = MarkFilter(self._token)
        self._prompts_seen = 0
        self.at_prompt = False
        environment = {"TERMAGENT_MARK_TOKEN": self._token, "TERMAGENT_RC": _RC_FILE.read_text(encoding="utf-8")}
        if command is _SH_COMMAND:
            environment = {"PS1": "# "}
        try:
            self._exec_id = self._api.exec_create(self._container_id, command, stdin=True, tty=True,
                                                  environment=environment)["Id"]
            self._socket = self._api.exec_start(self._exec_id, socket=True, tty=True)
            raw_socket = getattr(self._socket, "_sock", self._socket)
            self._child = fdpexpect.fdspawn(raw_socket.fileno(), timeout=None)
        except docker.errors.APIError as error:
            raise TermagentError(f"could not start a shell in the sandbox: {error.explanation or error}") from error
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.alive = True
        try:
            self.resize(self._columns, self._lines)
        except docker.errors.APIError:
            pass  # the program already exited (not in the image): the output below says so
        first_output = self._wait_for_first_prompt()
        if not self.alive:
            if "executable file not found" in first_output or "no such file" in first_output.lower():
                return False
            raise TermagentError(f"the sandbox shell exited at once: {first_output.strip()[:500]}")
        self._host_pid = self._api.exec_inspect(self._exec_id).get("Pid") or None
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
            raise TermagentError(f"the sandbox shell did not show a prompt within {_START_TIMEOUT:.0f} s.")
        return "".join(seen)

    # -- reading ---------------------------------------------------------------------------

    def _pump(self, timeout: float, collect: list[str] | None = None) -> str | None:
        """Read what arrives within `timeout`, feed it to the terminal; None when nothing did."""
        try:
            data = self._child.read_nonblocking(65536, timeout=max(timeout, 0))
        except pexpect.TIMEOUT:
            return None
        except (pexpect.EOF, OSError):
            self.alive = False
            self.at_prompt = False
            return None
        text, marks = self._marks.feed(self._decoder.decode(data))
        if text:
            self.terminal.feed(text)
            if self.on_output is not None:
                self.on_output(text)
            if collect is not None:
                collect.append(text)
        for mark in marks:
            self._apply(mark)
        return text

    def _apply(self, mark: ShellMark) -> None:
        if mark.kind == "C":
            self.at_prompt = False
        elif mark.kind == "D" and len(mark.fields) >= 2:
            self.exit_status = int(mark.fields[0]) if mark.fields[0].isdigit() else None
            self._pending_input = mark.fields[1] == "1"
            self._new_prompt = True
        elif mark.kind == "B":
            # Only the first drawing of a new prompt counts: readline redraws it (and so repeats
            # the mark) on a window resize or C-l without anything having run.
            if self._new_prompt and not self._pending_input:
                self._new_prompt = False
                self.at_prompt = True
                self._prompts_seen += 1
        elif mark.kind == "cwd" and mark.fields:
            self.cwd = mark.fields[0]
        elif mark.kind == "P" and mark.fields:
            self._shell_pid = mark.fields[0]

    def _drain(self, budget: float = 0.05) -> None:
        """Take in what has already arrived; bounded, since a flood (`yes`) never runs dry."""
        deadline = time.monotonic() + budget
        while self.alive and time.monotonic() < deadline and self._pump(0) is not None:
            pass

    # -- writing ---------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        for start in range(0, len(data), _WRITE_CHUNK):
            try:
                self._child.send(data[start:start + _WRITE_CHUNK])
            except OSError:
                self.alive = False
                return
            self._drain()

    # -- the agent's interface -------------------------------------------------------------

    def mark(self) -> TranscriptMark:
        return self.terminal.screen.mark()

    def output_since(self, mark: TranscriptMark) -> Observation:
        return self.terminal.screen.output_since(mark)

    def run(self, keystrokes: str, duration: float = 1.0, *,
            should_stop: Callable[[], bool] | None = None) -> CommandResult:
        """Send one command's keystrokes, wait at most `duration` seconds, report what happened.
        `should_stop` is polled while waiting: when it answers True the wait ends early."""
        started = time.monotonic()
        if not self.alive:
            return self._result(keystrokes, started, self.mark())
        mark = self.mark()
        text = keystrokes_to_bytes(keystrokes)
        was_at_prompt = self.at_prompt
        only_echoes = was_at_prompt and not _SUBMIT_BYTES.intersection(text)
        prompts_before = self._prompts_seen
        self._write(text)
        deadline = started + max(duration, 0.0)
        while self.alive:
            if self.at_prompt and self._prompts_seen > prompts_before and self.shell == "bash":
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (should_stop is not None and should_stop()):
                break
            if should_stop is not None:
                remaining = min(remaining, _STOP_POLL)
            if only_echoes:
                if self._pump(min(_ECHO_SETTLE, remaining)) is None:
                    break
            else:
                self._pump(remaining)
        self._drain()
        return self._result(keystrokes, started, mark)

    def _result(self, keystrokes: str, started: float, mark: TranscriptMark) -> CommandResult:
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
        )

    def fileno(self) -> int:
        """The shell's pty stream, for connecting a person's terminal to it directly."""
        return self._child.child_fd

    def resize(self, columns: int, lines: int) -> None:
        self._api.exec_resize(self._exec_id, height=lines, width=columns)

    def screen_text(self) -> str:
        return self.terminal.screen.text()

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
        if not self._host_pid:
            return None
        try:
            if _read_proc(self._host_pid, "comm") != self.shell:
                return None
            shell_group, _, foreground_group = _proc_groups(self._host_pid)
            if foreground_group == shell_group:
                return self.shell
            children = _read_proc(self._host_pid, f"task/{self._host_pid}/children").split()
            in_group = [child for child in children if _proc_groups(child)[0] == foreground_group]
            return _read_proc(in_group[-1] if in_group else foreground_group, "comm")
        except (OSError, IndexError, ValueError):
            return None

    def _foreground_in_container(self) -> tuple[str, str, str] | None:
        """(foreground group, shell group, program name), as seen inside the container."""
        if not self._shell_pid:
            return None
        fields = self._exec(["sh", "-c", _FOREGROUND_SCRIPT, "sh", self._shell_pid]).split(maxsplit=2)
        return (fields[0], fields[1], fields[2]) if len(fields) == 3 else None

    def _foreground_from_container(self) -> str | None:
        found = self._foreground_in_container()
        return found[2] if found else None

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
