"""What the trust-boundary hardening costs (issue 10): escaping every view, filtering casts, and
the disk watchdog (measuring the writable layer, and its effect on a command that writes).

    .venv/bin/python benchmarks/bench_hardening.py [--runs 5]

The watchdog part needs a Docker engine and the sandbox image. Prints medians; never pass/fail."""

from __future__ import annotations

import argparse
import json
import statistics
import time
import timeit

from termagent.agent.cast import PlaybackFilter
from termagent.text_safety import json_line, printable

# A typical output event: a screenful of shell output with colours, and some non-ASCII.
OUTPUT = "\x1b[01;34mdirectory\x1b[0m  file.txt  naïve.py  测试\n" * 40
EVENT = {
    "type": "output_observed",
    "step": 3,
    "keystrokes": "ls --color\n",
    "finished": True,
    "exit_status": 0,
    "output": OUTPUT,
    "elapsed": 0.05,
}
ASCII_EVENT = EVENT | {"output": OUTPUT.replace("naïve.py  测试", "naive.py  test")}
FLOOD = ("\x1b[32my\x1b[0m\r\n" * 20_000) + "\x1b]0;title\x07"
WRITE = "cp -r /usr/lib /root/copy && rm -rf /root/copy; echo copied\n"


def per_call_us(function, number: int) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def views() -> None:
    for name, event in (("ASCII", ASCII_EVENT), ("non-ASCII", EVENT)):
        plain = per_call_us(lambda event=event: json.dumps(event, ensure_ascii=False), 2000)
        escaped = per_call_us(lambda event=event: json_line(event), 2000)
        print(
            f"JSON line of a 2.4 KB {name} output event: json.dumps {plain:.1f} us, json_line {escaped:.1f} us "
            f"(ratio {escaped / plain:.2f})"
        )
    print(f"printable() of the same output: {per_call_us(lambda: printable(OUTPUT), 2000):.1f} us")
    seconds = per_call_us(lambda: PlaybackFilter().feed(FLOOD), 5) / 1e6
    print(f"cast filter: {len(FLOOD) / seconds / 2**20:.0f} MiB/s on coloured flood output")


def watchdog(runs: int) -> None:
    from termagent.sandbox.container import Sandbox, SandboxSpec

    with Sandbox(SandboxSpec()) as watched, Sandbox(SandboxSpec()) as unwatched:
        watch = watched.disk_watch
        if watch is None:
            print("the storage driver enforces the disk limit: no watchdog to measure")
            return
        unwatched.disk_watch.close()
        empty = [_timed(watch.used) for _ in range(20)]
        watched.shell.run("mkdir /root/many && cd /root/many && seq 5000 | xargs touch && cd /app\n", 60)
        many = [_timed(watch.used) for _ in range(20)]
        print(
            f"measuring the writable layer: {statistics.median(empty) * 1000:.1f} ms empty, "
            f"{statistics.median(many) * 1000:.1f} ms with 5,000 files"
        )
        times: dict[str, list[float]] = {"watched": [], "unwatched": []}
        for _ in range(runs):  # alternated, so that a busy moment hits both alike
            for name, sandbox in (("watched", watched), ("unwatched", unwatched)):
                times[name].append(sandbox.shell.run(WRITE, 120).elapsed)
        on, off = statistics.median(times["watched"]), statistics.median(times["unwatched"])
        print(f"copying /usr/lib in the sandbox: {on:.2f} s watched, {off:.2f} s unwatched (ratio {on / off:.2f})")


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    views()
    watchdog(args.runs)


if __name__ == "__main__":
    main()
