"""Sandbox benchmarks (issue 2): cold start, teardown, early return, per-command overhead,
and the two ways of attaching to the shell (SDK exec socket vs `docker exec -it`).

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 10]

Needs a Docker engine and the sandbox image. Prints medians; never a pass/fail."""

from __future__ import annotations

import argparse
import re
import statistics
import time

import pexpect

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.docker_connect import connect

# 30 quick commands as a model would send them, with the durations it typically declares.
SESSION = [
    ("mkdir -p /app/project && cd /app/project\n", 0.5), ("pwd\n", 0.5), ("ls -la\n", 0.5),
    ("echo 'print(1)' > main.py\n", 0.5), ("cat main.py\n", 0.5), ("python3 main.py\n", 1.0),
    ("git init -q .\n", 1.0), ("git status --short\n", 0.5), ("seq 1 50 > numbers.txt\n", 0.5),
    ("wc -l numbers.txt\n", 0.5), ("head -3 numbers.txt\n", 0.5), ("tail -3 numbers.txt\n", 0.5),
    ("grep -c 1 numbers.txt\n", 0.5), ("sort -r numbers.txt | head -2\n", 0.5),
    ("awk '{s+=$1} END {print s}' numbers.txt\n", 1.0), ("sed -n 5p numbers.txt\n", 0.5),
    ("find . -name '*.txt'\n", 1.0), ("tar czf n.tgz numbers.txt\n", 1.0), ("ls -l n.tgz | wc -l\n", 0.5),
    ("gzip -t n.tgz && echo ok\n", 0.5), ("python3 -c 'print(sum(range(10)))'\n", 1.0),
    ("cp numbers.txt copy.txt\n", 0.5), ("diff numbers.txt copy.txt && echo same\n", 0.5),
    ("rm copy.txt\n", 0.5), ("ls\n", 0.5), ("echo done > status\n", 0.5), ("cat status\n", 0.5),
    ("cd /app\n", 0.5), ("ls project | wc -l\n", 0.5), ("echo finished\n", 2.5),
]


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def cold_start_and_teardown(client, runs: int) -> None:
    starts, teardowns = [], []
    for _ in range(runs):
        sandbox = Sandbox(SandboxSpec(), client=client)
        began = time.perf_counter()
        sandbox.start()
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        sandbox.close()
        teardowns.append(time.perf_counter() - began)
    print(f"cold start to first prompt: p50 {median_ms(starts)} (min {min(starts)*1000:.0f}, max {max(starts)*1000:.0f}) over {runs}")
    print(f"teardown:                   p50 {median_ms(teardowns)} (min {min(teardowns)*1000:.0f}, max {max(teardowns)*1000:.0f})")


def play_session(client, wait_full_duration: bool) -> tuple[float, str]:
    with Sandbox(SandboxSpec(), client=client) as sandbox:
        shell = sandbox.shell
        began = time.perf_counter()
        for keystrokes, duration in SESSION:
            result = shell.run(keystrokes, duration)
            if wait_full_duration:  # what the reference harness does: always sleep the duration
                time.sleep(max(0.0, duration - result.elapsed))
        elapsed = time.perf_counter() - began
        screen = shell.screen_text().replace(sandbox.container.id[:12], "HOST")
    return elapsed, screen


def early_return(client) -> None:
    declared = sum(duration for _, duration in SESSION)
    fast, fast_screen = play_session(client, wait_full_duration=False)
    slow, slow_screen = play_session(client, wait_full_duration=True)
    print(f"early return: {len(SESSION)} commands, declared {declared:.1f} s; early return {fast:.2f} s "
          f"({fast / declared:.1%} of declared), full waits {slow:.2f} s; same final screen: {fast_screen == slow_screen}")


def per_command_overhead(client, count: int = 300) -> None:
    with Sandbox(SandboxSpec(), client=client) as sandbox:
        shell = sandbox.shell
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            result = shell.run(":\n", 5)  # a no-op builtin: what is measured is replay + capture
            samples.append(time.perf_counter() - began)
            assert result.finished
        samples.sort()
        print(f"per-command overhead (`:` builtin, {count} runs): p50 {median_ms(samples)}, "
              f"p90 {samples[int(len(samples) * 0.9)] * 1000:.1f} ms")


def attach_methods(client, runs: int) -> None:
    """How long from 'attach a shell' to its first prompt, for the two ways of attaching."""
    with Sandbox(SandboxSpec(), client=client) as sandbox:
        sdk, cli = [], []
        for _ in range(runs):
            began = time.perf_counter()
            sandbox.shell.restart()
            sdk.append(time.perf_counter() - began)
            began = time.perf_counter()
            child = pexpect.spawn("docker", ["exec", "-it", sandbox.container.id, "bash", "--norc", "-i"],
                                  dimensions=(40, 160), env={"PS1": "READY$ "})
            child.expect(re.compile(rb"[#$] $"), timeout=20)
            cli.append(time.perf_counter() - began)
            child.close(force=True)
        print(f"attach to first prompt: SDK exec socket + fdspawn p50 {median_ms(sdk)}; "
              f"pexpect.spawn('docker exec -it') p50 {median_ms(cli)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    client = connect()
    cold_start_and_teardown(client, args.runs)
    early_return(client)
    per_command_overhead(client)
    attach_methods(client, args.runs)


if __name__ == "__main__":
    main()
