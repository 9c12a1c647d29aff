"""Policy decision latency on one core, policy already loaded, plus the corpus rates.

Run: .venv/bin/python benchmarks/bench_policy.py [--policy default] [--rounds 20]
Targets (issue 4): p50 <= 1 ms, p99 <= 5 ms for a typical keystroke string.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from termagent.policy.decision import Decision
from termagent.policy.loader import load_policy

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "policy" / "corpus"


def read(name: str) -> list[str]:
    return [json.loads(line) for line in (CORPUS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", default="default")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says

    started = time.perf_counter()
    policy = load_policy(args.policy)
    load_ms = (time.perf_counter() - started) * 1000

    bypasses, read_only = read("bypass.txt"), read("readonly.txt")
    samples = bypasses + read_only
    for keystrokes in samples:  # warm caches (regex compilation, parser)
        policy.judge(keystrokes)
    timings = []
    for _ in range(args.rounds):
        for keystrokes in samples:
            t0 = time.perf_counter_ns()
            policy.judge(keystrokes)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99)]

    not_allowed = sum(policy.judge(k).decision is not Decision.ALLOW for k in bypasses)
    allowed = sum(policy.judge(k).decision is Decision.ALLOW for k in read_only)
    print(f"policy {policy.name}: loaded in {load_ms:.1f} ms ({len(policy.rules)} rules, examples checked)")
    print(f"decision latency over {len(timings)} judgments of {len(samples)} keystroke strings:")
    print(f"  p50 {p50:.3f} ms   p99 {p99:.3f} ms   max {timings[-1]:.3f} ms   (targets: p50 <= 1 ms, p99 <= 5 ms)")
    print(f"bypass attempts not allowed: {not_allowed}/{len(bypasses)} ({100 * not_allowed / len(bypasses):.1f}%)")
    print(f"read-only commands allowed:  {allowed}/{len(read_only)} ({100 * allowed / len(read_only):.1f}%)")


if __name__ == "__main__":
    main()
