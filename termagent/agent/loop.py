"""The agent loop, written once: ask the model, judge each command, run what passed in the
sandbox, show the model what happened; until the model's completion claim is confirmed, the
step limit, the time limit, or a stop request. Everything it does is reported as events."""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload

from termagent.agent.events import FORMAT_VERSION, Event, EventSink, EventType
from termagent.errors import SandboxError, TermagentError
from termagent.model.action import Command
from termagent.model.conversation import Conversation
from termagent.model.engines.base import Engine
from termagent.model.step import Attempt, BadRepliesError, next_action
from termagent.policy.approval import Approver
from termagent.policy.engine import Policy
from termagent.policy.events import ApprovalAnswered, ApprovalAsked, PolicyDecided, PolicyEvent
from termagent.policy.gate import Gate
from termagent.policy.keystrokes import escape_for_display, next_state
from termagent.policy.state import TerminalState

if TYPE_CHECKING:  # the sandbox's result types, without importing Docker to run the loop
    from termagent.sandbox.session import CommandResult
    from termagent.sandbox.terminal import Observation, ScreenChanges, TranscriptMark

_PROMPTS = Path(__file__).with_name("prompts")
_EMPTY_WAIT = 1.0  # the protocol's default duration


def _prompt(name: str) -> str:
    return (_PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip()


class Shell(Protocol):
    """What the loop needs of the sandbox's shell (termagent.sandbox.session.ShellSession)."""

    at_prompt: bool
    on_output: Callable[[str], None] | None

    def run(
        self, keystrokes: str, duration: float = 1.0, *, should_stop: Callable[[], bool] | None = None
    ) -> CommandResult: ...
    def mark(self) -> TranscriptMark: ...
    def output_since(self, mark: TranscriptMark) -> Observation: ...
    def screen_text(self) -> str: ...
    def redraw_text(self) -> str: ...
    def screen_changes(self, everything: bool = False) -> ScreenChanges: ...
    def foreground(self) -> str | None: ...
    def interrupt(self, grace: float = 1.0) -> CommandResult: ...
    def restart(self) -> None: ...


class RunStatus(enum.StrEnum):
    COMPLETED = "completed"  # claimed twice: the task is done
    MAX_STEPS = "max_steps"
    TIMEOUT = "timeout"
    GAVE_UP = "gave_up"  # too many unusable replies in a row
    INTERRUPTED = "interrupted"
    ERROR = "error"  # the environment failed (model server gone, ...)


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 50
    timeout: float | None = None  # wall-clock seconds for the whole run
    max_bad_replies: int = 3


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    steps: int
    elapsed: float
    prompt_tokens: int
    completion_tokens: int
    message: str = ""
    tokens_estimated: bool = False  # some reply's counts were estimated (a server without usage)


def run_started_data(task: str, engine: Engine, policy: str, limits: AgentLimits, note: str) -> dict[str, Any]:
    """The `run_started` record's data (also written by the runner for a run ended before the
    loop began)."""
    return {
        "format_version": FORMAT_VERSION,
        "task": task,
        "engine": engine.name,
        "model": engine.model,
        "policy": policy,
        "max_steps": limits.max_steps,
        "timeout": limits.timeout,
        "note": note,
    }


def run_finished_data(result: RunResult) -> dict[str, Any]:
    return {
        "status": str(result.status),
        "steps": result.steps,
        "elapsed": result.elapsed,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "tokens_estimated": result.tokens_estimated,
        "message": result.message,
    }


class Agent:
    def __init__(
        self,
        engine: Engine,
        shell: Shell,
        policy: Policy,
        approver: Approver,
        emit: EventSink,
        *,
        limits: AgentLimits = AgentLimits(),
        instructions: str | None = None,
    ) -> None:
        self.engine, self.shell, self.limits, self.instructions = engine, shell, limits, instructions
        self._emit = emit
        self._step = 0
        self.gate = Gate(policy, approver, self._policy_event)
        self._pending_line: str | None = ""
        # Who holds the terminal is known for sure only once a command (or an interrupt) is seen
        # to end at a confirmed prompt; until then keystrokes are judged both as a command line
        # and as a program's input (docs/policies.md).
        self._terminal_unsure = False
        self._commands_sent = 0
        # The number of the command an interrupt was asked for: a request counts for that
        # command only, never for the next one.
        self._interrupt_for: int | None = None
        self._stop_requested = False
        self._stop_reason = ""
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._control = threading.Lock()  # a pause never lands after a stop (which ends it)
        self._deadline: float | None = None

    # -- control from outside (signal handlers, the TUI); safe to call from another thread -----

    @property
    def commands_sent(self) -> int:
        """How many commands have been typed so far (the number of the latest one)."""
        return self._commands_sent

    def request_interrupt(self) -> None:
        """Interrupt the command now running in the sandbox (if one is); the agent goes on."""
        self._interrupt_for = self._commands_sent

    def request_stop(self, reason: str = "stopped by the person") -> None:
        """End the run after the current command; a pending command is never typed."""
        with self._control:
            self._stop_reason = reason
            self._stop_requested = True
            self._running.set()  # a pause ends so the stop is seen

    def pause(self) -> None:
        """Hold before the next step or before typing the next command."""
        with self._control:
            if not self._stop_requested:
                self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- the loop --------------------------------------------------------------------------

    def run(self, task: str, note: str = "") -> RunResult:
        """Run `task` to its end; `note` (e.g. why this engine) goes into the first event."""
        started = time.monotonic()
        self._deadline = started + self.limits.timeout if self.limits.timeout else None
        tokens = [0, 0, 0]  # prompt, completion, replies whose counts are estimates
        # Live views draw from the session's screen changes; recordings use the text.
        self.shell.on_output = lambda text: self._send(
            EventType.TERMINAL_OUTPUT, text=text, screen=self.shell.screen_changes()
        )
        self._send(EventType.RUN_STARTED, **run_started_data(task, self.engine, self.gate.base.name, self.limits, note))
        # Live views and recordings start from what the terminal already shows.
        self._send(
            EventType.TERMINAL_OUTPUT, text=self.shell.redraw_text(), screen=self.shell.screen_changes(everything=True)
        )

        def finish(status: RunStatus, message: str = "") -> RunResult:
            result = RunResult(
                status, self._step, round(time.monotonic() - started, 3), tokens[0], tokens[1], message, tokens[2] > 0
            )
            self._send(EventType.RUN_FINISHED, **run_finished_data(result))
            return result

        try:
            conversation = Conversation(task, self.shell.screen_text(), instructions=self.instructions)
            claimed = False
            while True:
                self._running.wait()
                if self._stop_requested:
                    return finish(RunStatus.INTERRUPTED, self._stop_reason)
                if self._step >= self.limits.max_steps:
                    return finish(RunStatus.MAX_STEPS, f"the step limit ({self.limits.max_steps}) was reached")
                if self._time_left() == 0:
                    return finish(RunStatus.TIMEOUT, f"the time limit ({self.limits.timeout:g} s) was reached")
                self._step += 1
                self._send(EventType.STEP_STARTED)
                action = self._ask_model(conversation, tokens)
                mark = self.shell.mark()
                notes = self._run_commands(action.commands)
                if not action.commands and not self.shell.at_prompt:
                    # An empty command list means "wait and look again": nothing is typed.
                    self.shell.run(
                        "", min(_EMPTY_WAIT, self._time_left(default=_EMPTY_WAIT)), should_stop=self._should_stop
                    )
                if action.task_complete and claimed:
                    self._send(EventType.COMPLETION_CONFIRMED)
                    return finish(RunStatus.COMPLETED, "the model confirmed that the task is complete")
                if action.task_complete:
                    claimed = True
                    self._send(EventType.COMPLETION_CLAIMED)
                    screen = self.shell.screen_text()
                    conversation.add_user(_prompt("confirm_completion").format(screen=screen) + _notes(notes))
                    continue
                claimed = False
                observation = self.shell.output_since(mark)
                conversation.add_observation(observation.text + _notes(notes), full_screen=observation.is_full_screen)
        except BadRepliesError as error:
            self._send(EventType.ERROR, message=error.message, hint=error.hint)
            return finish(RunStatus.GAVE_UP, error.message)
        except TermagentError as error:
            self._send(EventType.ERROR, message=error.message, hint=error.hint)
            return finish(RunStatus.ERROR, str(error))
        except KeyboardInterrupt as interrupt:
            # Ctrl-C twice, SIGTERM, SIGHUP (termagent.agent.signals): the run is recorded as
            # finished before the sandbox is removed on the way out.
            finish(RunStatus.INTERRUPTED, str(interrupt) or "interrupted")
            raise

    def _ask_model(self, conversation: Conversation, tokens: list[int]):
        new_part = conversation.messages[-1]["content"]

        def replied(attempt: Attempt) -> None:
            # Recorded as each reply arrives: a model that gives up (or a killed run) keeps them all.
            completion = attempt.completion
            tokens[0] += completion.prompt_tokens
            tokens[1] += completion.completion_tokens
            tokens[2] += completion.tokens_estimated
            self._send(
                EventType.MODEL_REPLIED,
                prompt_new_part=new_part,
                raw=completion.text,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                elapsed=round(completion.elapsed, 4),
                finish_reason=completion.finish_reason,
                tokens_estimated=completion.tokens_estimated,
            )
            if attempt.result.action is None:
                self._send(EventType.REPLY_REJECTED, errors=list(attempt.result.errors))

        outcome = next_action(
            self.engine,
            conversation,
            max_bad_replies=self.limits.max_bad_replies,
            on_token=lambda text: self._send(EventType.MODEL_TOKEN, text=text),
            on_attempt=replied,
        )
        for compaction in outcome.compactions:
            self._send(EventType.CONTEXT_COMPACTED, **dataclasses.asdict(compaction), note=compaction.describe())
        action, warnings = outcome.action, outcome.attempts[-1].result.warnings
        self._send(EventType.ACTION_PARSED, **action.to_dict())
        for warning in warnings:
            self._send(EventType.PARSE_WARNING, warning=warning)
        return action

    def _run_commands(self, commands: list[Command]) -> list[str]:
        """Run the commands that pass the policy; returns notes for the model about the rest."""
        notes: list[str] = []
        for index, command in enumerate(commands):
            if self._stop_requested:
                break
            state = TerminalState(
                foreground=None if self.shell.at_prompt else self.shell.foreground(),
                pending_line=self._pending_line,
                uncertain=self._terminal_unsure,
            )
            outcome = self.gate.review(command.keystrokes, state)
            send = outcome.send  # None when it must not be sent
            if send is None:
                notes.append(
                    _prompt("commands_not_run").format(
                        keystrokes=escape_for_display(command.keystrokes), reason=outcome.feedback
                    )
                )
                notes.extend(self._skip(commands[index + 1 :], "an earlier command was not run"))
                break
            # A pause holds here, with nothing typed; a stop (pressed while paused, or while the
            # person was answering) is checked last, right before typing.
            self._running.wait()
            if self._stop_requested:
                break
            duration = min(command.duration, self._time_left(default=command.duration))
            self._commands_sent += 1
            self._send(
                EventType.KEYSTROKES_SENT,
                keystrokes=send,
                duration=duration,
                edited=send != command.keystrokes,
            )
            result = self.shell.run(send, duration, should_stop=self._should_stop)
            self._send(EventType.OUTPUT_OBSERVED, **result.to_dict())
            if result.refused is not None:  # too big to type: nothing was, and the model is told why
                notes.append(result.refused)
                notes.extend(self._skip(commands[index + 1 :], "an earlier command was not run"))
                break
            self._pending_line = next_state(send, state).pending_line
            self._terminal_unsure = not result.finished
            if result.stopped is not None:  # the sandbox stopped the command at one of its limits
                notes.append(_prompt("limit_reached").format(**dataclasses.asdict(result.stopped)))
            if self._interrupt_wanted():
                self._interrupt_for = None
                after = self.shell.interrupt()
                self._send(EventType.INTERRUPTED, finished=after.finished)
                self._pending_line = ""
                self._terminal_unsure = not after.finished
                notes.append("[termagent] The person interrupted this command.")
                notes.extend(self._skip(commands[index + 1 :], "the person interrupted the command before"))
                break
            if not result.alive:
                try:
                    self.shell.restart()  # waits for the new shell's first prompt
                except TermagentError as error:
                    if result.stopped is None or not result.stopped.ended:
                        raise
                    # The sandbox ended itself at a limit (the disk watchdog kills a container
                    # whose writes outran every stop): say so, not the engine's words for it.
                    raise SandboxError(
                        f"the sandbox ended: its {result.stopped.limit} limit "
                        f"({result.stopped.allowed >> 20} MiB) was passed faster than the command "
                        f"could be stopped ({result.stopped.used >> 20} MiB), so its container was stopped.",
                        hint="Run the task again; if it needs the space, raise the limit (--disk).",
                    ) from error
                self._pending_line = ""
                self._terminal_unsure = False
                self._send(EventType.ERROR, message="the sandbox shell ended; a new one was started")
                notes.extend(filter(None, [result.lost, _prompt("shell_restarted")]))
        return notes

    def _skip(self, rest: list[Command], reason: str) -> list[str]:
        for command in rest:
            self._send(EventType.COMMAND_SKIPPED, keystrokes=command.keystrokes, reason=reason)
        return [_prompt("commands_skipped").format(count=len(rest))] if rest else []

    def _interrupt_wanted(self) -> bool:
        return self._interrupt_for is not None and self._interrupt_for == self._commands_sent

    def _should_stop(self) -> bool:
        """Polled while a command runs: a person asked to interrupt it, or to stop the run."""
        return self._interrupt_wanted() or self._stop_requested

    @overload
    def _time_left(self) -> float | None: ...  # None: no time limit
    @overload
    def _time_left(self, default: float) -> float: ...
    def _time_left(self, default: float | None = None) -> float | None:
        """Seconds until the run's time limit; `default` when there is none."""
        if self._deadline is None:
            return default
        return max(0.0, self._deadline - time.monotonic())

    # -- events ----------------------------------------------------------------------------

    def _send(self, type_: EventType, **data: Any) -> None:
        self._emit(Event(type_, self._step, data))

    def _policy_event(self, event: PolicyEvent) -> None:
        match event:
            case PolicyDecided():
                kind = EventType.POLICY_DECIDED
            case ApprovalAsked():
                kind = EventType.APPROVAL_ASKED
            case ApprovalAnswered():
                kind = EventType.APPROVAL_ANSWERED
        self._send(kind, **dataclasses.asdict(event))


def _notes(notes: list[str]) -> str:
    return ("\n\n" + "\n".join(notes)) if notes else ""
