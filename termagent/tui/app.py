"""The Textual app: a view over the agent loop's events, plus the person's controls. The agent
runs in a worker thread (`runner.run_agent`); its events are queued there and shown here at
most REFRESH_HZ times a second, terminal output goes straight into the TUI's own screen
mirror, approvals block the agent's thread until the person answers in the dialog. Pause and
stop are the agent's own (Agent.pause, Agent.request_stop): the app only passes them on."""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Input

from termagent.agent.events import Event, EventSink, EventType
from termagent.agent.loop import Agent, RunResult, RunStatus
from termagent.agent.runner import RunConfig, run_agent
from termagent.agent.signals import ENDING_SIGNALS, RunEnded, ending_signals_call
from termagent.agent.trajectory import default_trajectory_path
from termagent.errors import TermagentError
from termagent.policy.approval import Answer, ApprovalRequest, Approver, Reply
from termagent.text_safety import printable
from termagent.tui.approval_dialog import ApprovalDialog
from termagent.tui.approver import TuiApprover
from termagent.tui.changes_dialog import ChangesDialog, HeldBackDialog
from termagent.tui.screens import SummaryScreen, TrajectoryScreen
from termagent.tui.status_bar import StatusBar
from termagent.tui.step_log import StepLog
from termagent.tui.terminal_pane import REFRESH_HZ, ScreenMirror, TerminalPane
from termagent.workspace.changes import ApplyAnswer, WorkspaceChanges

ERROR_NOTICE_SECONDS = 30


class Runner(Protocol):
    """`run_agent`'s signature: how the app starts a run (tests give it a scripted one)."""

    def __call__(
        self,
        config: RunConfig,
        view: EventSink,
        *,
        person: Approver | None = None,
        on_agent: Callable[[Agent], None] | None = None,
        approve_changes: Callable[[WorkspaceChanges], ApplyAnswer | bool] | None = None,
    ) -> RunResult: ...


class TermagentApp(App[RunResult | None]):
    TITLE = "termagent"
    CSS = """
    #task { dock: top; }
    #main { height: 1fr; }
    StepLog { width: 1fr; min-width: 40; }
    TerminalPane { width: 2fr; }
    """
    BINDINGS = [
        Binding("p", "pause", "pause/resume"),
        Binding("i", "interrupt", "interrupt command"),
        Binding("s", "stop", "stop agent"),
        Binding("t", "trajectory", "trajectory"),
        Binding("b", "scrollback", "live/scrollback"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self, config: RunConfig, *, runner: Runner = run_agent, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.config = dataclasses.replace(config, trajectory=config.trajectory or default_trajectory_path())
        self.runner, self.clock = runner, clock
        self.mirror = ScreenMirror(config.sandbox.columns, config.sandbox.lines)
        self.approver = TuiApprover(self._open_dialog_from_thread)
        self.result: RunResult | None = None
        self._events: deque[Event] = deque()
        self._agent: Agent | None = None
        self._agent_running = self._stop_requested = self._quit_when_done = self._paused = False
        self._stop_reason = "stopped by the person"
        self._loop: asyncio.AbstractEventLoop | None = None
        # Held here: the app's query_one looks only at the top screen, which may be a dialog.
        self.step_log = StepLog()
        self.terminal_pane = TerminalPane(self.mirror)
        self.status_bar = StatusBar(self.config.sandbox.profile, self.clock)

    def compose(self) -> ComposeResult:
        yield Input(placeholder="What should the agent do? (Enter starts)", id="task")
        with Horizontal(id="main"):
            yield self.step_log
            yield self.terminal_pane
        yield self.status_bar
        yield Footer()

    def on_mount(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.set_interval(1 / REFRESH_HZ, self.drain_events)
        task_input = self.query_one("#task", Input)
        if self.config.task.strip():
            task_input.remove()
            self._start(self.config.task)
        else:
            task_input.focus()

    def on_unmount(self) -> None:
        # Never leave the agent's thread waiting on a person who has gone.
        self.approver.close()
        if self._agent is not None:
            self._agent.request_stop(self._stop_reason)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "task" and event.value.strip() and not self._agent_running:
            event.input.remove()
            self._start(event.value.strip())

    def _start(self, task: str) -> None:
        self._agent_running = True
        self.status_bar.set_state("starting the sandbox")
        self._run(dataclasses.replace(self.config, task=task))

    # -- the agent's thread ------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _run(self, config: RunConfig) -> None:
        try:
            result = self.runner(
                config,
                self._sink,
                person=self.approver,
                on_agent=self._set_agent,
                approve_changes=self._approve_changes,
            )
        except TermagentError as error:
            result = self._failed(error.message, error.hint)
        except Exception as error:  # the environment failed (Docker, ...): a notice, not a traceback
            result = self._failed(f"{type(error).__name__}: {error}", f"see {config.trajectory}, or run with --no-tui")
        self.call_from_thread(self._finished, result)

    def _failed(self, message: str, hint: str | None) -> RunResult:
        self._events.append(Event(EventType.ERROR, 0, {"message": message, "hint": hint}))
        return RunResult(RunStatus.ERROR, 0, 0.0, 0, 0, message)

    def _sink(self, event: Event) -> None:
        if event.type is EventType.TERMINAL_OUTPUT:
            self.mirror.show(event.data)
        else:
            self._events.append(event)

    def _set_agent(self, agent: Agent) -> None:
        # Keys pressed before the agent existed still count (each side checks after setting).
        self._agent = agent
        if self._paused:
            agent.pause()
        if self._stop_requested:
            agent.request_stop(self._stop_reason)

    def _approve_changes(self, changes: WorkspaceChanges) -> ApplyAnswer:
        """Asked on the agent's thread at the end of a run with a copied-in workspace."""
        if self.config.apply_changes:
            return ApplyAnswer.unattended(True, self.config.apply_git)
        answers: queue.Queue[ApplyAnswer] = queue.Queue(maxsize=1)
        try:
            self.call_from_thread(self.push_screen, ChangesDialog(changes), answers.put)
        except RuntimeError:  # the app has closed: nobody said yes
            return ApplyAnswer.KEEP
        return answers.get()

    def _open_dialog_from_thread(self, request: ApprovalRequest, answer: Callable[[Reply], None]) -> None:
        self.call_from_thread(self._open_dialog, request, answer)

    # -- the app's thread ----------------------------------------------------------------------

    def drain_events(self) -> None:
        while self._events:
            event = self._events.popleft()
            self.step_log.show(event)
            self.status_bar.follow(event)
            if event.type in (EventType.ERROR, EventType.WARNING):
                hint = event.data.get("hint")
                self.notify(
                    printable(event.data["message"] + (f"\n{hint}" if hint else "")),
                    title=str(event.type),
                    severity="error" if event.type is EventType.ERROR else "warning",
                    timeout=ERROR_NOTICE_SECONDS,
                    markup=False,
                )

    def _open_dialog(self, request: ApprovalRequest, answer: Callable[[Reply], None]) -> None:
        self.drain_events()
        self.status_bar.set_state("waiting for your approval")

        def answered(reply: Reply | None) -> None:
            self.status_bar.set_state("running")
            # Textual passes None for a screen dismissed without a result: no answer is a denial.
            answer(reply if reply is not None else Reply(Answer.DENY))

        self.push_screen(ApprovalDialog(request), answered)

    def _finished(self, result: RunResult) -> None:
        self.drain_events()
        self.mirror.invalidate()
        self.result, self._agent_running, self._agent = result, False, None
        self.status_bar.status.elapsed = result.elapsed
        self.status_bar.set_state(f"finished: {result.status}")
        if self._quit_when_done:
            self.exit(result)
        else:
            self.push_screen(SummaryScreen(result, self.config.trajectory))

    # -- the person's keys ----------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def action_pause(self) -> None:
        if not self._agent_running or self._stop_requested:
            return
        self._paused = not self._paused
        agent = self._agent
        if agent is not None:
            agent.pause() if self._paused else agent.resume()
        self.status_bar.set_state("paused: holds before the next step or command" if self._paused else "running")

    def action_interrupt(self) -> None:
        if self._agent is not None:
            self._agent.request_interrupt()
            self.notify("interrupting the running command", timeout=3)

    def action_stop(self) -> None:
        if not self._agent_running:
            return
        self._stop_requested, self._paused = True, False
        if self._agent is not None:
            self._agent.request_stop(self._stop_reason)
        if isinstance(self.screen, ApprovalDialog):
            self.screen.action_deny()
        if isinstance(self.screen, (ChangesDialog, HeldBackDialog)):
            self._keep_changes(self.screen)  # nobody said yes: the changes stay out
        self.approver.deny_pending()
        self.status_bar.set_state("stopping after the current command")

    def _keep_changes(self, dialog: ChangesDialog | HeldBackDialog) -> None:
        if self.screen is not dialog:
            return  # answered meanwhile
        if not dialog.is_mounted:  # only just pushed: dismissed once it has mounted
            self.set_timer(0.05, lambda: self._keep_changes(dialog))
            return
        dialog.dismiss(ApplyAnswer.KEEP)

    def action_trajectory(self) -> None:
        self.push_screen(TrajectoryScreen(self.config.trajectory))

    def action_scrollback(self) -> None:
        self.terminal_pane.toggle_scrollback()

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    async def action_quit(self) -> None:
        self._quit()

    def _quit(self) -> None:
        """While the agent runs, quitting stops it first, so the sandbox is removed."""
        if self._agent_running:
            self._quit_when_done = True
            self.approver.close()
            self.action_stop()
        else:
            self.exit(self.result)

    def end_from_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP (called in the signal handler): quit as the `q` key does, on the
        app's own loop; the run is recorded as ended by the signal."""
        self._stop_reason = f"ended by {ENDING_SIGNALS[signum]}"
        if self._loop is None:
            raise RunEnded(self._stop_reason)  # before the app runs: nothing to wait for
        self._loop.call_soon_threadsafe(self._quit)


def run_tui(config: RunConfig) -> RunResult:
    app = TermagentApp(config)
    with ending_signals_call(app.end_from_signal):
        result = app.run()
    if result is None:  # quit before a task was given
        return RunResult(RunStatus.INTERRUPTED, 0, 0.0, 0, 0, "no task was given")
    return result
