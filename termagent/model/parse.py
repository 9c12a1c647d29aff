"""Lenient parsing of a model reply into an Action, for engines that do not constrain decoding.

The pipeline: strip thinking, prefer fenced blocks, find JSON objects with a string-aware brace
scan, load each (repairing common breakage when it does not load), and turn the first object that
looks like an action into an `Action`. Schema violations that can be repaired (a clamped duration, a
missing default) become warnings; the rest become errors. `parse_reply` never raises.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from termagent.model.action import DEFAULT_DURATION, MAX_DURATION, Action, Command, ParseResult
from termagent.model.schema import validate_action
from termagent.model.thinking import strip_thinking
from termagent.text_safety import without_lone_surrogates

ACTION_KEYS = frozenset({"analysis", "plan", "commands", "task_complete"})
# Replies are short; a pathological one (thousands of stray braces) must not make the scan quadratic.
MAX_OBJECT_ATTEMPTS = 32

_FENCE = re.compile(r"```[ \t]*[A-Za-z]*[ \t]*\r?\n(.*?)(?:```|\Z)", re.DOTALL)
_SCAN = re.compile(r'[{}"\\]')
_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_decoder = json.JSONDecoder()


def parse_reply(raw: str) -> ParseResult:
    """Turn a raw reply into an action, with what was repaired (warnings) or unusable (errors)."""
    try:
        return _parse(raw)
    except Exception as error:  # the contract is "never raises"; the fuzz test asserts this never happens
        return ParseResult(None, raw, errors=[f"internal parser error: {error!r}"])


def _parse(raw: str) -> ParseResult:
    text, had_thinking = strip_thinking(raw)
    warnings = ["removed thinking before the JSON"] if had_thinking else []
    sources = [block for block in _FENCE.findall(text) if "{" in block]
    sources.append(text)
    found_json = False
    for source in sources:
        for data, repairs in _objects(source):
            found_json = True
            if isinstance(data, dict) and ACTION_KEYS & data.keys():
                # A JSON \ud800 escape loads as an unpaired surrogate, which can be neither typed nor shown.
                action, fixed, errors = _to_action(without_lone_surrogates(data))
                all_warnings = warnings + repairs + fixed
                return ParseResult(action, raw, all_warnings, errors)
    if found_json:
        reason = "the JSON in the reply is not an action object (expected keys analysis, plan, commands)"
    elif text.strip():
        reason = "no JSON object found in the reply"
    else:
        reason = "the reply is empty" + (" after removing thinking" if had_thinking else "")
    return ParseResult(None, raw, warnings, [reason])


def _objects(text: str) -> Iterator[tuple[Any, list[str]]]:
    """Yield (loaded value, repairs) for each JSON object candidate in `text`, in order."""
    start = text.find("{")
    attempts = 0
    while start != -1 and attempts < MAX_OBJECT_ATTEMPTS:
        attempts += 1
        try:  # fast path: a well-formed object, possibly followed by other text
            value, end = _decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if value is not None:
            yield value, []
            start = text.find("{", end)
            continue
        end, complete = _scan_object(text, start)
        value, repairs = _load_repaired(text[start:end], complete)
        if value is not None:
            yield value, repairs
        # The opening brace may have been prose ("use {x}"); the real object can start later.
        start = text.find("{", start + 1)


def _scan_object(text: str, start: int) -> tuple[int, bool]:
    """End of the object opening at `start` (string-aware), and whether it closed."""
    depth = 0
    in_string = False
    skip_to = -1
    for match in _SCAN.finditer(text, start):
        at = match.start()
        if at < skip_to:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return at + 1, True
    return len(text), False


def _load_repaired(candidate: str, complete: bool) -> tuple[Any, list[str]]:
    repaired, repairs = repair_json(candidate)
    if not complete:
        repairs.append("the reply was cut off; closed what was open")
    try:
        return json.loads(repaired), repairs
    except ValueError:
        return None, repairs


def repair_json(text: str) -> tuple[str, list[str]]:
    """Fix the usual breakage: raw control characters in strings, trailing commas, mismatched or
    missing closing brackets, a string or value cut off at the end."""
    out: list[str] = []
    closers: list[str] = []
    repairs: set[str] = set()
    in_string = escaped = False
    # The last point where everything before is complete JSON: (length of out, open closers).
    safe_len, safe_closers = 0, ""
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            elif char < " ":
                char = _CONTROL_ESCAPES.get(char, f"\\u{ord(char):04x}")
                repairs.add("escaped raw control characters inside strings")
            out.append(char)
        elif char == '"':
            in_string = True
            out.append(char)
        elif char in "{[":
            # An empty list or root object is complete; an empty nested object would lack its fields.
            nested_object = char == "{" and closers
            closers.append("}" if char == "{" else "]")
            out.append(char)
            if not nested_object:
                safe_len, safe_closers = len(out), "".join(closers)
        elif char in "}]":
            if char not in closers:
                repairs.add("dropped a stray closing bracket")
                continue
            if _drop_trailing_comma(out):
                repairs.add("removed trailing commas")
            while closers[-1] != char:
                out.append(closers.pop())
                repairs.add("closed mismatched brackets")
            out.append(closers.pop())
            if not closers:
                return "".join(out), sorted(repairs)
            safe_len, safe_closers = len(out), "".join(closers)
        else:
            if char == "," and closers:
                safe_len, safe_closers = len(out), "".join(closers)
            out.append(char)
    # A string cut inside a nested object is a command's half-typed keystrokes: running them could
    # leave the shell in a heredoc or run half a command, so that object goes, not just the string.
    cut_in_command = in_string and closers.count("}") > 1
    if escaped:
        out.pop()
    if in_string:
        out.append('"')
    if not closers:
        return "".join(out), sorted(repairs)
    if cut_in_command:
        repairs.add("dropped a command cut off inside one of its strings")
    else:
        _drop_trailing_comma(out)
        closed = "".join(out) + "".join(reversed(closers))
        try:
            json.loads(closed)
            return closed, sorted(repairs)
        except ValueError:
            pass  # the cut fell inside a key or a value: go back to the last complete member
    kept = out[:safe_len]
    _drop_trailing_comma(kept)
    return "".join(kept) + "".join(reversed(safe_closers)), sorted(repairs)


def _drop_trailing_comma(out: list[str]) -> bool:
    index = len(out) - 1
    while index >= 0 and out[index] in " \t\r\n":
        index -= 1
    if index >= 0 and out[index] == ",":
        del out[index]
        return True
    return False


def _to_action(data: dict[str, Any]) -> tuple[Action | None, list[str], list[str]]:
    """Build the Action; schema problems that could be repaired come back as warnings."""
    problems = validate_action(data)
    errors: list[str] = []
    commands = _commands(data, errors)
    task_complete = _flag(data.get("task_complete", False), errors)
    if errors:
        return None, [], errors
    action = Action(
        analysis=_text(data.get("analysis", "")),
        plan=_text(data.get("plan", "")),
        commands=commands,
        task_complete=task_complete,
    )
    return action, [f"{problem} (repaired)" for problem in problems], []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _commands(data: dict[str, Any], errors: list[str]) -> tuple[Command, ...]:
    items = data.get("commands")
    if items is None:
        if data.get("task_complete") is not True:
            errors.append("$.commands: missing; give the keystrokes to send, or [] to wait")
        return ()
    if isinstance(items, (dict, str)):
        items = [items]
    if not isinstance(items, list):
        errors.append(f"$.commands: {json.dumps(items)} is not a list of commands")
        return ()
    commands = []
    for index, item in enumerate(items):
        path = f"$.commands[{index}]"
        if isinstance(item, str):
            commands.append(Command(item))
        elif isinstance(item, dict) and isinstance(item.get("keystrokes"), str):
            commands.append(Command(item["keystrokes"], _duration(item.get("duration"))))
        elif isinstance(item, dict):
            errors.append(f"{path}.keystrokes: missing or not a string")
        else:
            errors.append(f"{path}: {json.dumps(item)} is not a command object")
    return tuple(commands)


def _duration(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("s"))
        except ValueError:
            return DEFAULT_DURATION
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return DEFAULT_DURATION
    return min(max(float(value), 0.0), MAX_DURATION)


def _flag(value: Any, errors: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value is None or value in (0, 1):
        return bool(value)
    errors.append(f"$.task_complete: {json.dumps(value)} is not a boolean")
    return False
