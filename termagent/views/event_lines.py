"""Headless and plain views: one line per event as it happens, or one JSON object per line.
Everything in an event may come from the model or the sandbox, so each line is escaped whole
just before it is written (termagent.text_safety): no field can be forgotten."""

from __future__ import annotations

import sys
from typing import TextIO

from termagent.agent.events import Event, EventType
from termagent.text_safety import escape_for_display, json_line, printable

# Streaming pieces would drown the log; the whole reply and each command's output are shown.
_QUIET = {EventType.MODEL_TOKEN, EventType.TERMINAL_OUTPUT}


class JsonLines:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if event.type not in _QUIET:
            self.out.write(json_line(event.to_json()) + "\n")
            self.out.flush()


class TextLines:
    def __init__(self, out: TextIO = sys.stdout, *, show_output: bool = True) -> None:
        self.out, self.show_output = out, show_output

    def __call__(self, event: Event) -> None:
        line = self._describe(event)
        if line is not None:
            line = printable(line)
            self.out.write(f"[step {event.step}] {line}\n" if event.step else f"{line}\n")
            self.out.flush()

    def _describe(self, event: Event) -> str | None:
        data = event.data
        match event.type:
            case EventType.RUN_STARTED:
                return (f"task: {data['task']}\n  engine {data['engine']} ({data['model']}), policy {data['policy']}"
                        + (f"\n  {data['note']}" if data.get("note") else ""))
            case EventType.ACTION_PARSED:
                commands = ", ".join(escape_for_display(c["keystrokes"]) for c in data["commands"]) or "(wait)"
                complete = "  [claims the task is complete]" if data["task_complete"] else ""
                return f"analysis: {data['analysis']}\n  plan: {data['plan']}\n  commands: {commands}{complete}"
            case EventType.REPLY_REJECTED:
                return "unusable reply: " + "; ".join(data["errors"])
            case EventType.PARSE_WARNING:
                return f"parse warning: {data['warning']}"
            case EventType.CONTEXT_COMPACTED:
                return data["note"]
            case EventType.POLICY_DECIDED:
                return f"policy: {data['decision']} {data['keystrokes']} (rule {data['rule']}: {data['reason']})"
            case EventType.APPROVAL_ANSWERED:
                message = f": {data['message']}" if data.get("message") else ""
                return f"approval: {data['answer']} by {data['approver']}{message}"
            case EventType.COMMAND_SKIPPED:
                return f"skipped {escape_for_display(data['keystrokes'])}: {data['reason']}"
            case EventType.OUTPUT_OBSERVED:
                state = f"exit {data['exit_status']}" if data["finished"] else f"still running: {data['foreground']}"
                head = f"ran {escape_for_display(data['keystrokes'])} [{state}, {data['elapsed']:.2f}s]"
                if data.get("stopped"):
                    head += f"\n  {limit_note(data['stopped'])}"
                return head + ("\n" + _indent(data["output"]) if self.show_output and data["output"] else "")
            case EventType.INTERRUPTED:
                return "interrupted the running command"
            case EventType.COMPLETION_CLAIMED:
                return "the model claims the task is complete; asking it to confirm"
            case EventType.COMPLETION_CONFIRMED:
                return "the model confirmed the task is complete"
            case EventType.WORKSPACE_CHANGED:
                return f"workspace changes:\n{data['summary']}\n{data['diff']}".rstrip()
            case EventType.WORKSPACE_APPLIED:
                conflicts = "".join(f"\n  conflict: {c}" for c in data["conflicts"])
                return f"workspace: {data['summary']}{conflicts}"
            case EventType.ERROR:
                return f"error: {data['message']}" + (f"\n  {data['hint']}" if data.get("hint") else "")
            case EventType.RUN_FINISHED:
                return (f"finished: {data['status']} after {data['steps']} steps, {data['elapsed']:.1f}s, "
                        f"{data['prompt_tokens']}+{data['completion_tokens']} tokens. {data['message']}")
        return None


def limit_note(stopped: dict) -> str:
    """What an OUTPUT_OBSERVED event's `stopped` (a sandbox LimitStop) says, for people."""
    return (f"stopped by the sandbox: its {stopped['limit']} limit ({stopped['allowed'] / 2**20:.0f} MiB) "
            f"was reached ({stopped['used'] / 2**20:.0f} MiB)")


def _indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.splitlines())
