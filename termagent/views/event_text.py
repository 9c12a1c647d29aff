"""How each agent event reads for people: the one description every view renders (the headless
text lines, the TUI's step log). A description is a list of segments, each a piece of text and
the name of what it is ("command", "deny", "warning", ...), never a terminal code: each view maps
the names to its own look. Texts are the events' raw values; views escape them (segments named
in ESCAPED as keystrokes, the rest through termagent.text_safety)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from termagent.agent.events import Event, EventType

# Raw keystrokes (control keys included): shown with escape_for_display, so nothing hides.
KEYSTROKES = "keystrokes"
# Raw keystrokes the policy judges: escaped like KEYSTROKES, shown prominently.
COMMAND = "command"
ESCAPED = frozenset({KEYSTROKES, COMMAND})
# Detail a view may leave out: a command's output, a workspace diff.
OUTPUT = "output"
DIFF = "diff"
# The other names: label, command, allow, ask, deny, ok, failed, warning, error, limit, note,
# completion, complete, answer, and "" for plain text.


@dataclass(frozen=True)
class Segment:
    text: str
    style: str = ""


Description = list[Segment]


def describe(event: Event) -> Description | None:
    """`event` as segments (lines separated by "\\n" inside them); None for events no view shows
    as a line (streamed pieces, the raw reply, the approval question: each has its own view)."""
    describer = _DESCRIBERS.get(event.type)
    return describer(event.data) if describer is not None else None


def limit_note(stopped: dict[str, Any]) -> str:
    """What an OUTPUT_OBSERVED event's `stopped` (a sandbox LimitStop) says, for people."""
    return (
        f"stopped by the sandbox: its {stopped['limit']} limit ({stopped['allowed'] / 2**20:.0f} MiB) "
        f"was reached ({stopped['used'] / 2**20:.0f} MiB)"
    )


def _labelled(label: str, text: str, style: str = "") -> Description:
    return [Segment(f"{label} ", "label"), Segment(text, style)]


def _run_started(data: dict[str, Any]) -> Description:
    detail = f"\n  engine {data['engine']} ({data['model']}), policy {data['policy']}"
    return [
        Segment("task: ", "label"),
        Segment(data["task"]),
        Segment(detail),
        *([Segment(f"\n  {data['note']}", "note")] if data.get("note") else []),
    ]


def _action_parsed(data: dict[str, Any]) -> Description:
    # The commands are not listed: each gets its own policy line.
    segments = [*_labelled("analysis:", data["analysis"]), Segment("\n"), *_labelled("plan:", data["plan"])]
    if not data["commands"]:
        segments.append(Segment("\n(no commands: waits)", "note"))
    if data["task_complete"]:
        segments.append(Segment("\nclaims the task is complete", "complete"))
    return segments


def _policy_decided(data: dict[str, Any]) -> Description:
    decision = data["decision"]
    return [
        Segment("$ ", "label"),
        Segment(data["keystrokes"], COMMAND),
        Segment("\n  policy: "),
        Segment(decision, decision if decision in ("allow", "ask", "deny") else ""),
        Segment(" · rule "),
        Segment(data["rule"]),
        Segment(" · "),
        Segment(data["reason"], "note"),
    ]


def _approval_answered(data: dict[str, Any]) -> Description:
    segments = [Segment("  approval: "), Segment(data["answer"], "answer"), Segment(f" by {data['approver']}")]
    for label, style in (("message", ""), ("edited", KEYSTROKES), ("note", "")):
        if data.get(label):
            segments += [Segment(f" · {label}: "), Segment(data[label], style)]
    return segments


def _command_skipped(data: dict[str, Any]) -> Description:
    return [
        Segment("  skipped ", "label"),
        Segment(data["keystrokes"], KEYSTROKES),
        Segment(f": {data['reason']}", "note"),
    ]


def _keystrokes_sent(data: dict[str, Any]) -> Description:
    return [
        Segment("  sent (edited): " if data["edited"] else "  sent: ", "note"),
        Segment(data["keystrokes"], KEYSTROKES),
    ]


def _output_observed(data: dict[str, Any]) -> Description:
    if data["finished"]:
        status = [Segment(f"exit {data['exit_status']}", "ok" if data["exit_status"] == 0 else "failed")]
    else:
        # No program named when the shell itself ended, or the kernel would not say.
        running = data["foreground"]
        status = (
            [Segment("still running: ", "warning"), Segment(running)]
            if running
            else [Segment("not finished", "warning")]
        )
    segments = [Segment("  "), *status, Segment(f" · {data['elapsed']:.2f} s")]
    if data.get("stopped"):
        segments.append(Segment(f"\n  {limit_note(data['stopped'])}", "limit"))
    if data["output"]:
        segments.append(Segment("".join(f"\n    | {line}" for line in data["output"].splitlines()), OUTPUT))
    return segments


def _workspace_applied(data: dict[str, Any]) -> Description:
    return [
        Segment("workspace: ", "label"),
        Segment(data["summary"]),
        *(Segment(f"\n  conflict: {conflict}", "warning") for conflict in data["conflicts"]),
    ]


def _error(data: dict[str, Any]) -> Description:
    return _labelled("error:", data["message"] + (f" ({data['hint']})" if data.get("hint") else ""), "error")


def _run_finished(data: dict[str, Any]) -> Description:
    return _labelled(
        "finished:",
        f"{data['status']} after {data['steps']} steps, {data['elapsed']:.1f}s, "
        f"{'~' if data.get('tokens_estimated') else ''}{data['prompt_tokens']}+{data['completion_tokens']} tokens"
        f"{' (estimated)' if data.get('tokens_estimated') else ''}. {data['message']}",
        "label",
    )


_DESCRIBERS = {
    EventType.RUN_STARTED: _run_started,
    EventType.ACTION_PARSED: _action_parsed,
    EventType.REPLY_REJECTED: lambda data: _labelled("unusable reply:", "; ".join(data["errors"]), "error"),
    EventType.PARSE_WARNING: lambda data: _labelled("parse warning:", data["warning"], "warning"),
    EventType.CONTEXT_COMPACTED: lambda data: [Segment(data["note"], "note")],
    EventType.POLICY_DECIDED: _policy_decided,
    EventType.APPROVAL_ANSWERED: _approval_answered,
    EventType.COMMAND_SKIPPED: _command_skipped,
    EventType.KEYSTROKES_SENT: _keystrokes_sent,
    EventType.OUTPUT_OBSERVED: _output_observed,
    EventType.INTERRUPTED: lambda data: [Segment("  interrupted by the person", "warning")],
    EventType.COMPLETION_CLAIMED: lambda data: [Segment("asked the model to confirm completion", "completion")],
    EventType.COMPLETION_CONFIRMED: lambda data: [Segment("the model confirmed the task is complete", "complete")],
    EventType.WORKSPACE_CHANGED: lambda data: [
        Segment("workspace changes:", "label"),
        Segment(f"\n{data['summary']}"),
        Segment(f"\n{data['diff']}".rstrip(), DIFF),
    ],
    EventType.WORKSPACE_APPLIED: _workspace_applied,
    EventType.WARNING: lambda data: _labelled("warning:", data["message"], "warning"),
    EventType.ERROR: _error,
    EventType.RUN_FINISHED: _run_finished,
}
