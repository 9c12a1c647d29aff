"""The card's tb2-lite replay metrics (docs/protocol.md, "The card's replay evaluation"), and their aggregation.

Kept to the card's definitions so that our numbers compare with its numbers, quirks included:
- a reply's JSON is a fenced ```json block if there is one, else the span from the first `{` to the
  last `}`; when that span does not load, keystrokes are still read from `"keystrokes": "..."`
  strings in the raw text (the card's fallback), so a broken reply can still score;
- a step where neither side has any command unit scores 0, not 1 (the card's convention).
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WAIT_UNIT = "<WAIT>"

_FENCED = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)
_KEYSTROKES = re.compile(r'"keystrokes"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SPACES = re.compile(r"\s+")


def command_units(commands: Iterable[Any]) -> list[str]:
    """Each command's keystrokes split into lines, stripped, white space collapsed; a command
    with no text at all (a wait) is the unit `<WAIT>`. Non-objects are skipped, as on the card."""
    units: list[str] = []
    for command in commands:
        if not isinstance(command, Mapping):
            continue
        pieces = _lines(str(command.get("keystrokes", "")))
        units.extend(pieces if pieces else [WAIT_UNIT])
    return units


def _lines(keystrokes: str) -> list[str]:
    text = keystrokes.replace("\r\n", "\n").replace("\r", "\n")
    return [_SPACES.sub(" ", piece.strip()) for piece in text.split("\n") if piece.strip()]


def extract_json(text: str) -> Any | None:
    """The card's extraction: the fenced block, else first `{` to last `}`; None when it does not load."""
    text = text.strip()
    fenced = _FENCED.search(text)
    if fenced:
        text = fenced.group(1)
    else:
        start, end = text.find("{"), text.rfind("}")
        if start >= 0 and end > start:
            text = text[start : end + 1]
    try:
        return json.loads(text)
    except ValueError:
        return None


def fallback_units(text: str) -> list[str]:
    """Units from every `"keystrokes": "..."` string literal in a reply whose JSON did not load."""
    units: list[str] = []
    for literal in _KEYSTROKES.findall(text):
        try:
            decoded = json.loads(f'"{literal}"')
        except ValueError:  # a broken escape: take the text as written
            decoded = literal
        units.extend(_lines(decoded))
    return units


@dataclass(frozen=True)
class CardReading:
    """What the card's parser reads in one reply."""

    valid_json: bool
    has_analysis: bool
    has_plan: bool
    task_complete: bool | None  # None: absent or not a boolean
    units: list[str]
    payload: Any | None  # the extracted JSON value, when it loaded


def read_reply(text: str) -> CardReading:
    payload = extract_json(text)
    units: list[str] = []
    complete = None
    analysis = plan = False
    if isinstance(payload, dict):
        commands = payload.get("commands", [])
        if isinstance(commands, list):
            units = command_units(commands)
        flag = payload.get("task_complete")
        complete = flag if isinstance(flag, bool) else None
        analysis, plan = bool(payload.get("analysis")), bool(payload.get("plan"))
    if not units:
        units = fallback_units(text)
    return CardReading(payload is not None, analysis, plan, complete, units, payload)


def tokens(unit: str) -> list[str]:
    """Lowercased shell words (plain white-space split when shlex cannot parse the unit)."""
    normalized = unit.strip().lower()
    try:
        return shlex.split(normalized)
    except ValueError:
        return normalized.split()


def token_f1(a: str, b: str) -> float:
    return _counter_f1(Counter(tokens(a)), Counter(tokens(b)))


def _counter_f1(a: Counter[str], b: Counter[str]) -> float:
    if not a and not b:
        return 1.0
    overlap = sum((a & b).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class StepScore:
    precision: float
    recall: float
    f1: float
    first_cmd_exact: bool


def score_step(predicted: Sequence[str], reference: Sequence[str]) -> StepScore:
    """Recall: each reference unit's best token F1 against any predicted unit, averaged; precision
    the other way round; F1 their harmonic mean. Units are compared after normalisation."""
    pred = [_normalize(unit) for unit in predicted]
    ref = [_normalize(unit) for unit in reference]
    first = bool(pred and ref and pred[0].lower() == ref[0].lower())
    if not pred or not ref:
        return StepScore(0.0, 0.0, 0.0, first)
    # Each unit is tokenised once; the pairwise F1 matrix is symmetric.
    pred_bags = [Counter(tokens(unit)) for unit in pred]
    ref_bags = [Counter(tokens(unit)) for unit in ref]
    matrix = [[_counter_f1(r, p) for p in pred_bags] for r in ref_bags]
    recall = sum(max(row) for row in matrix) / len(ref)
    precision = sum(max(column) for column in zip(*matrix, strict=True)) / len(pred)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return StepScore(precision, recall, f1, first)


def _normalize(unit: str) -> str:
    return _SPACES.sub(" ", unit.strip()) or WAIT_UNIT


def step_bucket(step_idx: int) -> str:
    """The card's step buckets: steps 0-1 early, 2-4 mid, later late."""
    if step_idx <= 1:
        return "early"
    return "mid" if step_idx <= 4 else "late"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _pct(flags: Sequence[bool]) -> float:
    return round(100.0 * _mean([float(flag) for flag in flags]), 1)


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The card's aggregate over per-step rows (see replay_eval.StepRow for the fields), under the
    card's names, plus termagent's own parser and schema validity."""
    f1s = [row["command_f1"] for row in rows]
    precisions = [row["command_precision"] for row in rows]
    recalls = [row["command_recall"] for row in rows]
    positives = [row for row in rows if row["ref_task_complete"]]
    negatives = [row for row in rows if not row["ref_task_complete"]]
    summary: dict[str, Any] = {
        "score": round(100.0 * _mean(f1s), 2),
        "avg_command_f1": round(_mean(f1s), 4),
        "avg_precision": round(_mean(precisions), 4),
        "avg_recall": round(_mean(recalls), 4),
        "avg_command_precision": round(_mean(precisions), 4),
        "avg_command_recall": round(_mean(recalls), 4),
        "first_cmd_exact_pct": _pct([row["first_cmd_exact"] for row in rows]),
        "valid_json_pct": _pct([row["valid_json"] for row in rows]),
        "termagent_parse_ok_pct": _pct([row["termagent_parse_ok"] for row in rows]),
        "schema_valid_pct": _pct([row["schema_valid"] for row in rows]),
        "has_analysis_pct": _pct([row["has_analysis"] for row in rows]),
        "has_plan_pct": _pct([row["has_plan"] for row in rows]),
        "complete_true_recall_pct": _pct([row["pred_task_complete"] is True for row in positives]),
        "premature_complete_rate_pct": _pct([row["pred_task_complete"] is True for row in negatives]),
        "avg_ref_cmds": round(_mean([len(row["ref_command_units"]) for row in rows]), 2),
        "avg_pred_cmds": round(_mean([len(row["pred_command_units"]) for row in rows]), 2),
        "steps": len(rows),
        "tasks": len({row["task_id"] for row in rows}),
        "by_source_group": _groups(rows, "source_group", with_first=True),
        "by_bucket": _groups(rows, "bucket", with_first=False),
    }
    return summary


def _groups(rows: Sequence[Mapping[str, Any]], key: str, *, with_first: bool) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row[key]), []).append(row)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(grouped):
        members = grouped[name]
        stats: dict[str, Any] = {
            "steps": len(members),
            "avg_command_f1": round(_mean([row["command_f1"] for row in members]), 4),
        }
        if with_first:
            stats["first_cmd_exact_pct"] = _pct([row["first_cmd_exact"] for row in members])
        out[name] = stats
    return out
