"""Writing and printing evaluation results: summary.json, and tables for a person."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# (summary key, label) of the replay table, in the card's order.
REPLAY_ROWS = (
    ("score", "score (100 x mean step F1)"),
    ("avg_precision", "command precision"),
    ("avg_recall", "command recall"),
    ("first_cmd_exact_pct", "first command exact %"),
    ("valid_json_pct", "valid JSON % (card's rule)"),
    ("termagent_parse_ok_pct", "termagent parser ok %"),
    ("schema_valid_pct", "schema valid %"),
    ("has_analysis_pct", "has analysis %"),
    ("has_plan_pct", "has plan %"),
    ("complete_true_recall_pct", "task_complete recall %"),
    ("premature_complete_rate_pct", "premature complete %"),
    ("steps", "steps"),
    ("tasks", "tasks"),
    ("sec_per_step", "sec/step"),
    ("failed_steps", "failed steps"),
)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_replay(summary: Mapping[str, Any], console: Console) -> None:
    table = Table(title="tb2-lite replay", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in REPLAY_ROWS:
        table.add_row(label, str(summary.get(key, "-")))
    console.print(table)
    for key, title in (("by_source_group", "by source group"), ("by_bucket", "by step bucket")):
        groups: Mapping[str, Mapping[str, Any]] = summary.get(key, {})
        if not groups:
            continue
        columns = list(next(iter(groups.values())))
        grouped = Table(title=title)
        grouped.add_column(key.removeprefix("by_"))
        for name in columns:
            grouped.add_column(name, justify="right")
        for name, stats in groups.items():
            grouped.add_row(name, *(str(stats[column]) for column in columns))
        console.print(grouped)


# (result key, column label)
LIVE_COLUMNS = (
    ("task", "task"),
    ("passed", "passed"),
    ("steps", "steps"),
    ("wall_s", "time (s)"),
    ("tokens", "tokens"),
    ("policy_denials", "denials"),
    ("parse_failures", "parse failures"),
    ("error", "error"),
)


def print_live(results: Sequence[Mapping[str, Any]], summary: Mapping[str, Any], console: Console) -> None:
    table = Table(title=f"live tasks ({summary['mode']})")
    for key, label in LIVE_COLUMNS:
        table.add_column(label, justify="left" if key in ("task", "error") else "right", no_wrap=key == "task")
    for result in results:
        table.add_row(*(_cell(result.get(key)) for key, _ in LIVE_COLUMNS))
    console.print(table)
    console.print(
        f"pass rate {summary['pass_rate_pct']}% ({summary['passed']}/{summary['tasks']}), "
        f"{summary['total_steps']} steps, {summary['wall_seconds']} s"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
