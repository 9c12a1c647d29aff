"""Sandbox benchmarks (issue 2): cold start, teardown, early return, per-command overhead,
and the two ways of attaching to the shell (SDK exec socket vs `docker exec -it`).
Under pressure (issue 12), each against tmux on the same container in the same run (tmux
running `docker exec -it`, typed into with send-keys, read with capture-pane, as the reference
harness does): Ctrl-C to the prompt after a 10 s `yes` flood (median of 5, idle and with one
core kept busy), plain-output throughput (idle and with one core busy), and a 1 MiB
here-document's time and integrity.

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 10] [--pressure-only] [--flood-runs 5]
        [--throughput-runs 3] [--only throughput|heredoc|ctrl-c]

Needs a Docker engine, the sandbox image and tmux. Prints medians; never a pass/fail."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import time
from collections.abc import Iterator

import pexpect

from termagent.sandbox.container import Sandbox, SandboxSpec
from termagent.sandbox.docker_connect import connect
from termagent.sandbox.terminal import Terminal

# 30 quick commands as a model would send them, with the durations it typically declares.
SESSION = [
    ("mkdir -p /app/project && cd /app/project\n", 0.5),
    ("pwd\n", 0.5),
    ("ls -la\n", 0.5),
    ("echo 'print(1)' > main.py\n", 0.5),
    ("cat main.py\n", 0.5),
    ("python3 main.py\n", 1.0),
    ("git init -q .\n", 1.0),
    ("git status --short\n", 0.5),
    ("seq 1 50 > numbers.txt\n", 0.5),
    ("wc -l numbers.txt\n", 0.5),
    ("head -3 numbers.txt\n", 0.5),
    ("tail -3 numbers.txt\n", 0.5),
    ("grep -c 1 numbers.txt\n", 0.5),
    ("sort -r numbers.txt | head -2\n", 0.5),
    ("awk '{s+=$1} END {print s}' numbers.txt\n", 1.0),
    ("sed -n 5p numbers.txt\n", 0.5),
    ("find . -name '*.txt'\n", 1.0),
    ("tar czf n.tgz numbers.txt\n", 1.0),
    ("ls -l n.tgz | wc -l\n", 0.5),
    ("gzip -t n.tgz && echo ok\n", 0.5),
    ("python3 -c 'print(sum(range(10)))'\n", 1.0),
    ("cp numbers.txt copy.txt\n", 0.5),
    ("diff numbers.txt copy.txt && echo same\n", 0.5),
    ("rm copy.txt\n", 0.5),
    ("ls\n", 0.5),
    ("echo done > status\n", 0.5),
    ("cat status\n", 0.5),
    ("cd /app\n", 0.5),
    ("ls project | wc -l\n", 0.5),
    ("echo finished\n", 2.5),
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
    print(
        f"cold start to first prompt: p50 {median_ms(starts)} (min {min(starts) * 1000:.0f}, "
        f"max {max(starts) * 1000:.0f}) over {runs}"
    )
    print(
        f"teardown:                   p50 {median_ms(teardowns)} (min {min(teardowns) * 1000:.0f}, "
        f"max {max(teardowns) * 1000:.0f})"
    )


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
    print(
        f"early return: {len(SESSION)} commands, declared {declared:.1f} s; early return {fast:.2f} s "
        f"({fast / declared:.1%} of declared), full waits {slow:.2f} s; "
        f"same final screen: {fast_screen == slow_screen}"
    )


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
        print(
            f"per-command overhead (`:` builtin, {count} runs): p50 {median_ms(samples)}, "
            f"p90 {samples[int(len(samples) * 0.9)] * 1000:.1f} ms"
        )


def attach_methods(client, runs: int) -> None:
    """How long from 'attach a shell' to its first prompt, for the two ways of attaching."""
    with Sandbox(SandboxSpec(), client=client) as sandbox:
        sdk, cli = [], []
        for _ in range(runs):
            began = time.perf_counter()
            sandbox.shell.restart()
            sdk.append(time.perf_counter() - began)
            began = time.perf_counter()
            child = pexpect.spawn(
                "docker",
                ["exec", "-it", sandbox.container.id, "bash", "--norc", "-i"],
                dimensions=(40, 160),
                env={"PS1": "READY$ "},
            )
            child.expect(re.compile(rb"[#$] $"), timeout=20)
            cli.append(time.perf_counter() - began)
            child.close(force=True)
        print(
            f"attach to first prompt: SDK exec socket + fdspawn p50 {median_ms(sdk)}; "
            f"pexpect.spawn('docker exec -it') p50 {median_ms(cli)}"
        )


# -- under pressure (issue 12), termagent against tmux --------------------------------------------

FLOOD_SECONDS = 10
PLAIN_BYTES = 50_000_000
TMUX_PROMPT = "READY$"


class TmuxShell:
    """bash in the container through `docker exec -it`, in tmux on a private server."""

    def __init__(self, container_id: str) -> None:
        self.socket = f"termagent-bench-{os.getpid()}-{time.monotonic_ns()}"
        self._tmux(
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "40",
            "-s",
            "main",
            f"docker exec -it -e PS1='{TMUX_PROMPT} ' {container_id} bash --norc --noprofile -i",
        )
        self.wait(TmuxShell.at_prompt, 30)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=60, check=False
        ).stdout

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "main", *keys)

    def type_text(self, text: str) -> None:
        # A tmux command must fit one message to its server (16 KiB; a longer one is dropped
        # with "command too long"): long text goes in pieces. tmux reads an argument that ends
        # with ";" as a command separator, so no piece ends with one; "--" ends the options.
        start = 0
        while start < len(text):
            end = min(start + 8192, len(text))
            while end < len(text) and text[end - 1] == ";":
                end += 1
            self.send("-l", "--", text[start:end])
            start = end

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "main")

    @staticmethod
    def at_prompt(screen: str) -> bool:
        lines = [line for line in screen.splitlines() if line.strip()]
        return bool(lines) and lines[-1].rstrip() == TMUX_PROMPT

    def wait(self, condition, seconds: float) -> float:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            if condition(self.screen()):
                return time.perf_counter() - began
            time.sleep(0.01)
        raise TimeoutError("tmux: the screen never showed what was waited for")

    def close(self) -> None:
        self._tmux("kill-server")


@contextlib.contextmanager
def busy_core(busy: bool) -> Iterator[None]:
    """Another process keeping one core busy (as a local model does), when `busy`."""
    if not busy:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def ctrl_c_after_flood(client, runs: int) -> None:
    for busy in (False, True):
        with Sandbox(SandboxSpec(), client=client) as sandbox, busy_core(busy):
            shell, tmux = sandbox.shell, TmuxShell(sandbox.container.id)
            ours, theirs = [], []
            try:
                for _ in range(runs):
                    shell.run("yes\n", FLOOD_SECONDS)
                    began = time.perf_counter()
                    result = shell.run("C-c", 60)
                    ours.append(time.perf_counter() - began)
                    assert result.finished, "termagent: no prompt after C-c"
                    tmux.send("clear", "Enter")
                    tmux.send("yes", "Enter")
                    time.sleep(FLOOD_SECONDS)
                    tmux.send("C-c")
                    theirs.append(tmux.wait(lambda screen: "^C" in screen and TmuxShell.at_prompt(screen), 120))
            finally:
                tmux.close()
        label = "one core busy" if busy else "idle"
        print(
            f"C-c to prompt after {FLOOD_SECONDS} s of yes ({label}, {runs} runs): termagent p50 "
            f"{median_ms(ours)} (max {max(ours) * 1000:.0f}), tmux p50 {median_ms(theirs)}; "
            f"ratio {statistics.median(ours) / statistics.median(theirs):.2f}"
        )


def plain_output_throughput(client, runs: int) -> None:
    command = f"yes 'plain output line of forty characters.' | head -c {PLAIN_BYTES}"
    text = "plain output line of forty characters.\r\n" * (PLAIN_BYTES // 40)
    terminal = Terminal()
    began, cpu_began = time.perf_counter(), time.process_time()
    for start in range(0, len(text), 1 << 20):
        terminal.feed(text[start : start + (1 << 20)])
    emulator = len(text) / (time.perf_counter() - began) / 1e6
    emulator_cpu = len(text) / (time.process_time() - cpu_began) / 1e6
    print(
        f"plain output, {PLAIN_BYTES / 1e6:.0f} MB: the emulator alone {emulator:.0f} MB/s "
        f"({emulator_cpu:.0f} MB per CPU second)"
    )
    for busy in (False, True):
        with Sandbox(SandboxSpec(), client=client) as sandbox, busy_core(busy):
            shell, tmux = sandbox.shell, TmuxShell(sandbox.container.id)
            ours, our_cpu, theirs = [], [], []
            try:
                for _ in range(runs):
                    began, cpu_began = time.perf_counter(), time.process_time()
                    result = shell.run(command + "\n", 600)
                    ours.append(time.perf_counter() - began)
                    our_cpu.append(time.process_time() - cpu_began)
                    assert result.finished, "termagent: the output did not end"
                    tmux.send("clear", "Enter")
                    tmux.wait(TmuxShell.at_prompt, 30)
                    began = time.perf_counter()
                    tmux.send(command + "; echo END-OF-OUTPUT", "Enter")
                    tmux.wait(
                        lambda screen: (
                            "END-OF-OUTPUT" in screen.replace("echo END-OF-OUTPUT", "") and TmuxShell.at_prompt(screen)
                        ),
                        600,
                    )
                    theirs.append(time.perf_counter() - began)
            finally:
                tmux.close()
        label = "one core busy" if busy else "idle"
        print(
            f"  end to end ({label}, median of {runs}): termagent {megabytes_per(statistics.median(ours)):.1f} MB/s "
            f"(slowest {megabytes_per(max(ours)):.1f}; {megabytes_per(statistics.median(our_cpu)):.0f} MB per CPU "
            f"second of termagent's process), tmux {megabytes_per(statistics.median(theirs)):.1f} MB/s; "
            f"time ratio termagent/tmux {statistics.median(ours) / statistics.median(theirs):.2f}"
        )


def megabytes_per(seconds: float) -> float:
    return PLAIN_BYTES / seconds / 1e6


def big_heredoc(client) -> None:
    rng = random.Random(12)
    alphabet = string.ascii_letters + string.digits + " .,:;!?-_=+()[]{}<>/'\"$`\\|&*#%@^~"
    lines, size = [], 0
    while size < (1 << 20) - 200:
        lines.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))))
        size += len(lines[-1]) + 1
    body = "\n".join(lines) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()
    command = f"cat > /tmp/big.txt <<'END_OF_DATA'\n{body}END_OF_DATA\n"
    with Sandbox(SandboxSpec(), client=client) as sandbox:
        shell, tmux = sandbox.shell, TmuxShell(sandbox.container.id)
        try:
            began = time.perf_counter()
            result = shell.run(command, 1200)
            ours = time.perf_counter() - began
            ours_intact = result.finished and digest in shell.run("sha256sum /tmp/big.txt\n", 30).output
            shell.run("rm /tmp/big.txt\n", 10)
            began = time.perf_counter()
            tmux.type_text(command)
            tmux.send("sha256sum /tmp/big.txt", "Enter")
            tmux.wait(lambda screen: re.search(r"^([0-9a-f]{64}  |sha256sum: )/tmp/big.txt", screen, re.M), 1200)
            theirs = time.perf_counter() - began
            theirs_intact = digest in tmux.screen()
        finally:
            tmux.close()
    print(
        f"1 MiB here-document ({len(command.encode()):,} bytes, {len(lines):,} lines): termagent {ours:.1f} s "
        f"(intact: {ours_intact}), tmux send-keys {theirs:.1f} s (intact: {theirs_intact}); "
        f"ratio {ours / theirs:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--flood-runs", type=int, default=5)
    parser.add_argument("--throughput-runs", type=int, default=3)
    parser.add_argument("--pressure-only", action="store_true", help="only the issue 12 comparisons with tmux")
    parser.add_argument(
        "--only", choices=["throughput", "heredoc", "ctrl-c"], help="only this one of the comparisons with tmux"
    )
    args = parser.parse_args()
    client = connect()
    if not args.pressure_only and not args.only:
        cold_start_and_teardown(client, args.runs)
        early_return(client)
        per_command_overhead(client)
        attach_methods(client, args.runs)
    if shutil.which("tmux") is None:
        print("tmux is not installed: the comparisons under pressure are skipped")
        return
    if args.only in (None, "throughput"):
        plain_output_throughput(client, args.throughput_runs)
    if args.only in (None, "heredoc"):
        big_heredoc(client)
    if args.only in (None, "ctrl-c"):
        ctrl_c_after_flood(client, args.flood_runs)


if __name__ == "__main__":
    main()
