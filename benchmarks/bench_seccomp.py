"""What termagent's seccomp filter costs against Docker's default profile (what the sandbox had
before): system calls per second inside the container, and the time to start a container.

    .venv/bin/python benchmarks/bench_seccomp.py [--runs 5]

Needs a Docker engine and the sandbox image. Prints medians and ratios; never pass/fail."""

from __future__ import annotations

import argparse
import statistics
import time

from termagent.sandbox import DEFAULT_IMAGE
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.seccomp import security_option

# dd with one-byte blocks: two system calls (read, write) per byte; the filter runs on each.
CALLS = 1_000_000
WORK = ["sh", "-c", f"dd if=/dev/zero of=/dev/null bs=1 count={CALLS // 2} 2>&1 | tail -1"]
OPTIONS = {"docker-default": ["no-new-privileges"], "termagent": ["no-new-privileges", security_option()]}


def start(client, options: list[str]):
    return client.containers.run(
        DEFAULT_IMAGE, ["sleep", "infinity"], detach=True, network_mode="none", cap_drop=["ALL"], security_opt=options
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    client = connect()
    calls: dict[str, list[float]] = {name: [] for name in OPTIONS}
    starts: dict[str, list[float]] = {name: [] for name in OPTIONS}
    for _ in range(runs):
        for name, options in OPTIONS.items():  # interleaved, so machine load hits both alike
            began = time.perf_counter()
            container = start(client, options)
            starts[name].append(time.perf_counter() - began)
            try:
                began = time.perf_counter()
                code, output = container.exec_run(WORK)
                elapsed = time.perf_counter() - began
                assert code == 0, output
                calls[name].append(CALLS / elapsed)
            finally:
                container.remove(force=True)
    # The median of each run's own ratio too: a busy machine moves both sides of a run together.
    paired = statistics.median(ours / base for base, ours in zip(*calls.values(), strict=True))
    base, ours = (statistics.median(calls[name]) for name in OPTIONS)
    print(
        f"system calls/s (dd bs=1, {CALLS:,} calls, median of {runs}): Docker default {base:,.0f}, "
        f"termagent {ours:,.0f} (ratio {ours / base:.3f}; median per-run ratio {paired:.3f})"
    )
    paired = statistics.median(ours / base for base, ours in zip(*starts.values(), strict=True))
    base, ours = (statistics.median(starts[name]) for name in OPTIONS)
    print(
        f"container start (create+start, median of {runs}): Docker default {base * 1000:.0f} ms, "
        f"termagent {ours * 1000:.0f} ms (ratio {ours / base:.3f}; median per-run ratio {paired:.3f})"
    )


if __name__ == "__main__":
    main()
