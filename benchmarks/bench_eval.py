"""Scoring throughput of `termagent eval replay`, without any model: steps scored per second.

Run: .venv/bin/python benchmarks/bench_eval.py [--rounds 200]
Target (issue 7): >= 2,000 steps/s for the card's metrics alone, on one core.
Replies: the example set's references, each also cut short (invalid JSON, scored through the
card's keystrokes fallback) and with its first command altered, so all paths are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from termagent.eval.metrics import command_units, read_reply, score_step
from termagent.eval.records import load_records
from termagent.eval.replay_eval import score_reply
from termagent.model.engines.base import Completion

DATA = Path(__file__).resolve().parent.parent / "examples" / "replay" / "tb2_mini.jsonl"


def card_metrics(reply: str, reference: list) -> None:
    score_step(read_reply(reply).units, command_units(reference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    records = load_records(DATA)
    cases = []
    for record in records:
        cases.append((record, record.ref_raw))
        cases.append((record, record.ref_raw[: len(record.ref_raw) * 2 // 3]))
        cases.append((record, record.ref_raw.replace('"keystrokes": "', '"keystrokes": "sudo ', 1)))
    steps = len(cases) * args.rounds

    started = time.perf_counter()
    for _ in range(args.rounds):
        for record, reply in cases:
            card_metrics(reply, record.ref_commands)
    metrics_rate = steps / (time.perf_counter() - started)

    started = time.perf_counter()
    for _ in range(args.rounds):
        for record, reply in cases:
            score_reply(record, Completion(reply, 0, 0, 0.0))
    row_rate = steps / (time.perf_counter() - started)

    print(
        json.dumps(
            {
                "steps": steps,
                "card_metrics_steps_per_s": round(metrics_rate),
                "full_row_steps_per_s": round(row_rate),  # + termagent's parser and schema validation
                "target_steps_per_s": 2000,
                "meets_target": metrics_rate >= 2000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
